/**
 * The protocol part of the Expose Service window: HTTP, TCP or UDP, and for TCP and UDP the
 * external port, TLS termination (TCP only) and the optional SRV record. The protocol is chosen
 * when the service is created; the daemon rejects a later change.
 */
import type { ServiceProtocol, ServiceView } from './api-types.js';
import { child, textValue } from './ext-util.js';

/**
 * itemIds of the Advanced fields, all of them options of HTTP routes. The daemon's TCP forwarding
 * (an HAProxy `mode tcp` frontend with fixed round-robin balancing) applies none of them, so the
 * Advanced section is hidden for TCP and UDP services.
 */
export const httpOnlyFieldIds = [
  'field-https-redirect',
  'field-hsts-max-age',
  'field-hsts-include-subdomains',
  'field-websocket-timeout',
  'field-backend-protocol',
  'field-health-check',
  'field-health-check-interval',
  'field-cloudflare-proxied',
  'field-auth',
  'field-max-body-size',
  'field-buffering',
  'field-allowed-networks',
  'field-balance',
] as const;

/** The SRV service label: an underscore, then a DNS label (RFC 2782 names services `_service`). */
const srvServicePattern = /^_[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

function numberOrUndefined(input: unknown): number | undefined {
  if (typeof input === 'number' && Number.isFinite(input)) return input;
  if (typeof input === 'string' && input.trim() !== '' && Number.isFinite(Number(input))) return Number(input);
  return undefined;
}

/** Returns the protocol field, a drop-down for a new service and a display field when editing. */
export function protocolField(editing: boolean, onChange: () => void): object {
  if (editing) return { xtype: 'displayfield', itemId: 'protocol-display', fieldLabel: gettext('Protocol'), submitValue: false, value: '' };
  return {
    xtype: 'combobox',
    name: 'protocol',
    itemId: 'field-protocol',
    fieldLabel: gettext('Protocol'),
    editable: false,
    value: 'http',
    store: [
      ['http', 'HTTP'],
      ['tcp', 'TCP'],
      ['udp', 'UDP'],
    ],
    listeners: { change: onChange },
  };
}

/** Returns the fields of TCP and UDP services, hidden until one of those protocols is chosen. */
export function forwardingItems(onChange: () => void): object[] {
  const hidden = { hidden: true, disabled: true };
  return [
    { xtype: 'numberfield', name: 'external-port', itemId: 'field-external-port', fieldLabel: gettext('External Port'), minValue: 1, maxValue: 65535, allowDecimals: false, allowBlank: false, emptyText: '25565', listeners: { change: onChange }, ...hidden },
    { xtype: 'checkbox', name: 'tls', itemId: 'field-tls', fieldLabel: gettext('TLS'), boxLabel: gettext('Terminate TLS with the domain certificate'), uncheckedValue: false, inputValue: true, ...hidden },
    {
      xtype: 'textfield',
      name: 'srv-service',
      itemId: 'field-srv-service',
      fieldLabel: gettext('SRV Service'),
      emptyText: gettext('none, such as _minecraft'),
      regex: srvServicePattern,
      regexText: gettext('An underscore, then letters, digits and hyphens, such as _minecraft'),
      ...hidden,
    },
    { xtype: 'numberfield', name: 'srv-priority', itemId: 'field-srv-priority', fieldLabel: gettext('SRV Priority'), minValue: 0, maxValue: 65535, allowDecimals: false, emptyText: '0', ...hidden },
    { xtype: 'numberfield', name: 'srv-weight', itemId: 'field-srv-weight', fieldLabel: gettext('SRV Weight'), minValue: 0, maxValue: 65535, allowDecimals: false, emptyText: '0', ...hidden },
  ];
}

/** Shows the fields that apply to `protocol` and hides (and disables, so that they skip validation) the rest. */
export function showProtocolFields(win: Ext.container.IContainer, protocol: ServiceProtocol): void {
  const show = (itemId: string, visible: boolean): void => {
    const field = child<Required<Ext.form.field.IBase>>(win, itemId);
    field.setVisible(visible);
    field.setDisabled(!visible);
  };
  const forwarded = protocol !== 'http';
  for (const itemId of httpOnlyFieldIds) show(itemId, !forwarded);
  child<Required<Ext.IComponent>>(win, 'advanced').setVisible(!forwarded);
  for (const itemId of ['field-external-port', 'field-srv-service', 'field-srv-priority', 'field-srv-weight']) show(itemId, forwarded);
  show('field-tls', protocol === 'tcp');
}

/** Returns the form values of a stored service's protocol fields. */
export function protocolFormValues(service: ServiceView): Record<string, unknown> {
  return {
    'external-port': service['external-port'] ?? '',
    tls: service.tls,
    'srv-service': service.srv?.service ?? '',
    'srv-priority': service.srv?.priority ?? '',
    'srv-weight': service.srv?.weight ?? '',
  };
}

/**
 * Returns the request fields of a TCP or UDP service. An empty SRV service removes a stored
 * record when editing and publishes none when creating.
 */
export function forwardingRequest(values: Record<string, unknown>, protocol: ServiceProtocol, creating: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (creating) body['protocol'] = protocol;
  body['external-port'] = numberOrUndefined(values['external-port']);
  if (protocol === 'tcp') body['tls'] = values['tls'] === true;
  const service = textValue(values['srv-service']).toLowerCase();
  if (service === '') {
    if (!creating) body['srv'] = null;
    return body;
  }
  const priority = numberOrUndefined(values['srv-priority']);
  const weight = numberOrUndefined(values['srv-weight']);
  body['srv'] = { service, ...(priority === undefined ? {} : { priority }), ...(weight === undefined ? {} : { weight }) };
  return body;
}
