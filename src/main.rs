//! The `engine` command line: parse flags once, run, map errors to exit codes
//! (2 for bad flags and missing roots, 1 for anything else).

use std::process::ExitCode;

use clap::Parser;
use engine::analyze;
use engine::cli::{AnalyzeConfig, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze(args) => {
            let cfg = match AnalyzeConfig::from_args(args) {
                Ok(cfg) => cfg,
                Err(e) => {
                    eprintln!("engine: error: {e}");
                    return ExitCode::from(2);
                }
            };
            match analyze::run(&cfg) {
                Ok(s) => {
                    println!(
                        "engine: {} datasets, {} videos ({} readable, {} unreadable), {} probed now, {} concerns, {:.1} s; outputs in {}",
                        s.datasets,
                        s.videos,
                        s.readable,
                        s.videos - s.readable,
                        s.probed_now,
                        s.concerns,
                        s.elapsed.as_secs_f64(),
                        cfg.out_dir.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("engine: error: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
