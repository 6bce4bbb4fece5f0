"""Benchmarks of the CLI (`duecourse bench ...`) and the labelled data they run on."""
