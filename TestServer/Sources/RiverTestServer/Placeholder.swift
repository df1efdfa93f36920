// The River test server lands here (issue #5).
