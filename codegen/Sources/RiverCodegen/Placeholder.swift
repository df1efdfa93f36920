// river-codegen lands here (issue #6).
