"""Adapters to outside systems, one module per provider, behind small interfaces."""
