/**
 * Entry of pve-domains.js, loaded by PVE's index page after pvemanagerlib.js. The imports run in
 * this order because each Ext.define needs the classes it extends to exist.
 */
import './daemon-edit.js';
import './domain-edit.js';
import './domains-view.js';
import './sites-view.js';
import './certificates-view.js';
import './tasks-view.js';
import './service-edit.js';
import './services-view.js';
import './inject.js';
