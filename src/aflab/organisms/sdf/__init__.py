"""Synthetic-document generation (SDF): universe -> document types -> ideas -> documents."""
