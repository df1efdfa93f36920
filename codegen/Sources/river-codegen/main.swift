print("river-codegen: not built yet")
