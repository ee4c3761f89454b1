"""The store's revisions, one file each (``rNNNN_<slug>.py``), applied in order."""
