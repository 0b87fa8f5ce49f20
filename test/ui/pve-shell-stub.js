// Stand-ins for the PVE web UI classes and globals that pve-plugin uses, and nothing more:
// gettext, Proxmox.Utils.API2Request, Proxmox.window.Edit, PVE.panel.Config and the three config
// panels it overrides for (PVE.dc.Config, PVE.lxc.Config, PVE.qemu.Config). Their interface
// follows pve-plugin/src/pve-globals.d.ts. Their behaviour is only the part the plugin relies on,
// written here for the test page, and no code of PVE is copied. The test page's inline script
// plays PVE's index template: it defines `Proxmox` with UserName and CSRFPreventionToken first.

/* global Ext, Proxmox, PVE: writable */

window.gettext = function (text) {
  return text;
};

// pveproxy call of the widget toolkit: a URL not starting with /api2 goes to /api2/extjs, whose
// answers are HTTP 200 with `success` 0 or 1; errors are handed to `failure` with htmlStatus.
Proxmox.Utils = {
  API2Request: function (options) {
    Ext.Ajax.request({
      url: /^\/api2/.test(options.url) ? options.url : '/api2/extjs' + options.url,
      method: options.method || 'GET',
      params: options.params,
      headers: { CSRFPreventionToken: Proxmox.CSRFPreventionToken },
      success: function (response) {
        var result = Ext.decode(response.responseText, true) || { data: null };
        if (!result.success) {
          var message = Ext.String.htmlEncode(result.message || 'request failed');
          if (options.failure) options.failure({ result: result, htmlStatus: message, status: response.status });
          return;
        }
        if (options.success) options.success({ result: result, status: response.status });
      },
      failure: function (response) {
        var text = Ext.String.htmlEncode(response.statusText || 'request failed');
        if (options.failure) options.failure({ htmlStatus: text, status: response.status });
      },
    });
  },
};

// Edit window: title "<Add|Create|Edit>: subject", a form panel, submit and reset buttons that
// follow the form's dirty and valid state. Its own submit would call pveproxy.
Ext.define('Proxmox.window.Edit', {
  extend: 'Ext.window.Window',
  alias: 'widget.proxmoxWindowEdit',

  modal: true,
  resizable: false,
  border: false,
  width: 400,
  subject: '',
  isCreate: false,
  isAdd: false,
  url: undefined,
  fieldDefaults: { labelWidth: 120, anchor: '100%' },

  initComponent: function () {
    var me = this;
    if (!me.url) throw new Error('Proxmox.window.Edit: no url specified');
    var items = Ext.isArray(me.items) ? me.items : [me.items];
    delete me.items;
    me.formPanel = Ext.create('Ext.form.Panel', {
      border: false,
      bodyPadding: 10,
      trackResetOnLoad: true,
      fieldDefaults: me.fieldDefaults,
      items: items,
    });
    var form = me.formPanel.getForm();
    var action = gettext('Edit');
    if (me.isCreate) action = me.isAdd ? gettext('Add') : gettext('Create');
    var submitButton = Ext.create('Ext.button.Button', {
      text: me.isCreate ? action : gettext('OK'),
      itemId: 'submit',
      disabled: !me.isCreate,
      handler: function () {
        me.submit();
      },
    });
    var resetButton = Ext.create('Ext.button.Button', {
      text: gettext('Reset'),
      itemId: 'reset',
      disabled: true,
      handler: function () {
        form.reset();
      },
    });
    var update = function () {
      var dirty = form.isDirty();
      submitButton.setDisabled(!form.isValid() || !(dirty || me.isCreate));
      resetButton.setDisabled(!dirty);
    };
    form.on('dirtychange', update);
    form.on('validitychange', update);
    Ext.apply(me, {
      title: action + ': ' + me.subject,
      items: [me.formPanel],
      buttons: me.isCreate ? [submitButton] : [submitButton, resetButton],
    });
    me.callParent();
  },

  submit: function () {
    throw new Error('Proxmox.window.Edit stand-in: submit to pveproxy is not implemented');
  },
});

// The tree-of-tabs panel: `items` are plain configs (itemId, title, iconCls, xtype, groups),
// created when selected and destroyed when another entry is selected.
Ext.define('PVE.panel.Config', {
  extend: 'Ext.panel.Panel',
  alias: 'widget.pvePanelConfig',

  layout: 'card',
  border: false,

  initComponent: function () {
    var me = this;
    var root = { expanded: true, children: [] };
    var nodes = {};
    me.savedItems = {};
    Ext.Array.each(me.items || [], function (item) {
      if (me.savedItems[item.itemId]) throw new Error('itemId already exists, please use another');
      me.savedItems[item.itemId] = item;
      var node = { id: item.itemId, text: item.title, iconCls: item.iconCls, leaf: true, expanded: true, children: [] };
      nodes[item.itemId] = node;
      var groups = item.groups || [];
      var parent = groups.length > 0 ? nodes[groups[groups.length - 1]] : root;
      parent.leaf = false;
      parent.children.push(node);
    });
    delete me.items;
    me.defaults = Ext.apply({ pveSelNode: me.pveSelNode, border: false, header: false }, me.defaults);
    me.dockedItems = [
      { xtype: 'toolbar', dock: 'top', items: [{ xtype: 'tbtext', itemId: 'title', text: Ext.String.htmlEncode(me.title) }] },
      {
        xtype: 'treepanel',
        dock: 'left',
        itemId: 'menu',
        width: 200,
        rootVisible: false,
        store: { root: root },
        listeners: {
          selectionchange: function (_model, selected) {
            if (selected.length > 0) me.activateCard(selected[0].getId());
          },
        },
      },
    ];
    me.title = undefined;
    me.callParent();
    me.on('afterrender', function () {
      var first = Ext.Object.getKeys(me.savedItems)[0];
      if (first) me.selectById(first);
    });
  },

  activateCard: function (cardId) {
    var me = this;
    var previous = me.getLayout().getActiveItem();
    var card = me.add(Ext.apply({}, me.savedItems[cardId]));
    me.getLayout().setActiveItem(card);
    if (previous) previous.destroy();
  },

  selectById: function (cardId) {
    var tree = this.down('#menu');
    var node = tree.getStore().getNodeById(cardId);
    if (node) tree.getSelectionModel().select(node);
  },
});

// Placeholder cards named like PVE's own, so that the plugin's position among them is visible.
function placeholder(itemId, title, iconCls) {
  return { xtype: 'component', itemId: itemId, title: title, iconCls: iconCls, padding: 10, html: Ext.String.htmlEncode(title) };
}

Ext.define('PVE.dc.Config', {
  extend: 'PVE.panel.Config',
  alias: 'widget.PVE.dc.Config',

  initComponent: function () {
    var me = this;
    var caps = Ext.state.Manager.get('GuiCap');
    me.items = [];
    me.title = gettext('Datacenter');
    if (caps.dc['Sys.Audit']) me.items.push(placeholder('summary', gettext('Summary'), 'fa fa-book'));
    me.items.push(placeholder('users', gettext('Users'), 'fa fa-user'));
    if (Proxmox.UserName === 'root@pam') me.items.push(placeholder('acme', 'ACME', 'fa fa-certificate'));
    if (caps.dc['Sys.Audit']) {
      me.items.push(placeholder('firewall', gettext('Firewall'), 'fa fa-shield'));
      me.items.push(placeholder('support', gettext('Support'), 'fa fa-comments-o'));
    }
    me.callParent();
  },
});

function guestConfig(kind) {
  return {
    extend: 'PVE.panel.Config',
    alias: kind === 'lxc' ? 'widget.pveLXCConfig' : 'widget.PVE.qemu.Config',

    initComponent: function () {
      var me = this;
      var vm = me.pveSelNode.data;
      var caps = Ext.state.Manager.get('GuiCap');
      me.title = Ext.String.format(kind === 'lxc' ? gettext('Container {0} ({1}) on node {2}') : gettext('Virtual Machine {0} ({1}) on node {2}'), vm.vmid, vm.name, vm.node);
      me.items = [placeholder('summary', gettext('Summary'), 'fa fa-book'), placeholder('network', gettext('Network'), 'fa fa-exchange')];
      if (caps.vms['VM.Audit']) me.items.push(placeholder('firewall', gettext('Firewall'), 'fa fa-shield'));
      if (caps.vms['Permissions.Modify']) me.items.push(placeholder('permissions', gettext('Permissions'), 'fa fa-unlock'));
      me.callParent();
    },
  };
}

Ext.define('PVE.lxc.Config', guestConfig('lxc'));
Ext.define('PVE.qemu.Config', guestConfig('qemu'));
