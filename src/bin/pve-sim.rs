//! `pve-sim`: the simulated PVE tools (`pvesh`, `qm`, `pct`, `hostname`) over a state file.
//! See `pvectl::backend::sim::cli`.

fn main() {
    std::process::exit(pvectl::backend::sim::cli::main_from_env());
}
