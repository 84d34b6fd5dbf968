//! The `engine` command line: parse flags once, run, map errors to exit codes
//! (2 for bad flags and missing roots, 1 for anything else).

use std::process::ExitCode;

use clap::Parser;
use engine::analyze;
use engine::cli::{AnalyzeConfig, Cli, Command};

fn main() -> ExitCode {
    // Mesa's Vulkan drivers complain on stderr when this is unset (headless
    // servers, CI); any writable directory satisfies them. Set before any
    // thread starts.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
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
                Ok(s) if s.shard.is_some() => {
                    println!(
                        "engine: shard {} of {} datasets: {} videos ({} readable), {} probed now, {} frame-analysed now, {} keyframe-analysed now; {:.1} s; merge the shards with `engine merge`; outputs in {}",
                        s.shard.expect("shard run"),
                        s.datasets,
                        s.videos,
                        s.readable,
                        s.probed_now,
                        s.frames_now,
                        s.keyframes_now,
                        s.elapsed.as_secs_f64(),
                        cfg.out_dir.display()
                    );
                    ExitCode::SUCCESS
                }
                Ok(s) => {
                    println!(
                        "engine: {} datasets, {} videos ({} readable, {} unreadable), {} probed now, {} frame-analysed now, {} keyframe-analysed now ({} fakes outside the --fake-sample draw), {} concerns; selected {} real videos for {} clips; {:.1} s; outputs in {}",
                        s.datasets,
                        s.videos,
                        s.readable,
                        s.videos - s.readable,
                        s.probed_now,
                        s.frames_now,
                        s.keyframes_now,
                        s.keyframe_pass_videos,
                        s.concerns,
                        s.selected,
                        s.clips,
                        s.elapsed.as_secs_f64(),
                        cfg.out_dir.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("engine: error: {e:#}");
                    // A request this machine cannot meet (--gpu without a GPU) is a usage error.
                    let usage = e.downcast_ref::<engine::cli::UsageError>().is_some();
                    ExitCode::from(if usage { 2 } else { 1 })
                }
            }
        }
        Command::Merge(args) => {
            let jobs = engine::cli::jobs_or_cores(args.jobs);
            match engine::shard::merge(&args.shards, &args.out, jobs, args.quiet) {
                Ok(s) => {
                    println!(
                        "engine: merged {} shards: {} datasets, {} videos ({} readable, {} unreadable), {} concerns; selected {} real videos for {} clips; {:.1} s; outputs in {}",
                        s.shards,
                        s.datasets,
                        s.videos,
                        s.readable,
                        s.videos - s.readable,
                        s.concerns,
                        s.selected,
                        s.clips,
                        s.elapsed.as_secs_f64(),
                        args.out.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("engine: error: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Extract(args) if !args.plan.is_file() => {
            eprintln!(
                "engine: error: clip plan {} does not exist or is not a file",
                args.plan.display()
            );
            ExitCode::from(2)
        }
        Command::Extract(args) => {
            let jobs = args.jobs.map(usize::from).unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            });
            let cutter = match std::env::current_exe() {
                Ok(exe) => exe,
                Err(e) => {
                    eprintln!("engine: error: cannot find the engine executable: {e}");
                    return ExitCode::from(1);
                }
            };
            match engine::extract::extract(&args.plan, &args.into, &cutter, jobs, args.quiet) {
                Ok(s) => {
                    for f in &s.failed {
                        eprintln!(
                            "engine: warning: clip {} from {} skipped: {}",
                            f.clip_id, f.source_path, f.reason
                        );
                    }
                    println!(
                        "engine: {} clips planned: {} cut now, {} already there, {} skipped (see extract_failures.json); manifest in {}",
                        s.planned,
                        s.extracted_now,
                        s.already_done,
                        s.failed.len(),
                        args.into.join(engine::extract::MANIFEST_FILE).display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("engine: error: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Command::CutClip(a) => {
            engine::probe::init();
            match engine::extract::cut(&a.source, a.start_s, a.end_s, &a.dest) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("engine: error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Promote(args) if !args.manifest.is_file() => {
            eprintln!(
                "engine: error: manifest {} does not exist or is not a file",
                args.manifest.display()
            );
            ExitCode::from(2)
        }
        Command::Promote(args) => match engine::promote::promote(&args.manifest, &args.into) {
            Ok(s) => {
                for w in s.warnings() {
                    eprintln!("engine: warning: {w}");
                }
                println!("engine: {s}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("engine: error: {e}");
                ExitCode::from(1)
            }
        },
    }
}
