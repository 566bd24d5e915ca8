// The `tase2` command line tool (serve, check-config, demo-config): filled in by issue 4.
print("tase2: not yet")
