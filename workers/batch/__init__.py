"""Batch files of the CLI: `duecourse match` and the CSV formats it reads and writes."""
