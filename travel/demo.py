"""Travel's demo data (placeholder until written)."""
