"""The system-tray face of otpsync: icon, menu and notifications, calling daemon's service only."""
