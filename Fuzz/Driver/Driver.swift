// Linked with libFuzzer's main; the fuzz entry point lives in the FuzzTargets library.
