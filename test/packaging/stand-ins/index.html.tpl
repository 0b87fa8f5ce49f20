<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <meta http-equiv="X-UA-Compatible" content="IE=edge">
    <title>[% nodename %] - Proxmox Virtual Environment</title>
    <link rel="stylesheet" type="text/css" href="/pve2/css/ext6-pve.css?ver=[% version %]" />
    <script type="text/javascript" src="/pve2/ext6/ext-all.js?ver=7.0.0"></script>
    <script type="text/javascript">
      Proxmox = { Setup: { auth_cookie_name: 'PVEAuthCookie' }, NodeName: '[% nodename %]' };
    </script>
    <script type="text/javascript" src="/proxmoxlib.js?ver=[% wtversion %]"></script>
    <script type="text/javascript" src="/pve2/js/pvemanagerlib.js?ver=[% version %]"></script>
    <script type="text/javascript" src="/pve2/ext6/locale/locale-[% lang %].js?ver=7.0.0"></script>
    <script type="text/javascript">
      if (typeof(PVE) === 'undefined') PVE = {};
      Ext.onReady(function() { Ext.create('PVE.StdWorkspace'); });
    </script>
  </head>
  <body>
    <!-- stand-in of pve-manager's www/index.html.tpl, version @VERSION@ -->
  </body>
</html>
