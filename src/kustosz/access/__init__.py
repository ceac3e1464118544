"""Users, roles, individual authorisations, playback/listening sessions and their log."""
