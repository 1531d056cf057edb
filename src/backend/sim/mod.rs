//! The simulated cluster (filled in by the simulator work).
