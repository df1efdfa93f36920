// The libwebsockets connection lands here (issue #3).
