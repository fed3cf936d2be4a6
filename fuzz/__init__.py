"""Coverage-guided fuzzing (atheris, libFuzzer) of every parser that reads outside input; see fuzz/README.md."""
