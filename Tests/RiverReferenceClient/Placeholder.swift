// Generated reference-services client lands here (issue #6).
