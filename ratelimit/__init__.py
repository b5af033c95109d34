"""Rate limits: at most N hits per subject in a window, in Redis or in the process."""
