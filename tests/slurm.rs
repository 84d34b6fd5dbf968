//! The Slurm path for real: this test starts a single-node Slurm cluster of
//! its own (munged, slurmctld and slurmd from Debian's `munge` and
//! `slurm-wlm`, with its own key, socket, ports, state and spool under a
//! temporary directory), submits `deploy/slurm/analyze.sbatch submit` with
//! three shards (a job array and a merge job that depends on it), waits for
//! the merge, compares its outputs with one `engine analyze` run on the same
//! roots byte for byte, and stops the daemons it started by their process
//! ids.
//!
//! It needs root (the daemons run jobs as the submitting user, and munged is
//! started as the `munge` user) and the two packages (`make test` installs
//! them). Without them it says why and passes, unless ENGINE_REQUIRE_SLURM=1
//! (set by `make test` when run as root), where it fails instead.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every output of a run (the merge writes the same set).
const OUTPUTS: &[&str] = engine::report::OUTPUT_FILES;

/// Why this machine cannot run the test, if it cannot.
fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (the test starts munged and the Slurm daemons)".into());
    }
    for bin in [
        "munged",
        "slurmctld",
        "slurmd",
        "sbatch",
        "squeue",
        "setpriv",
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!(
                "{bin} not found (apt-get install slurm-wlm munge; `make test` does)"
            ));
        }
    }
    let user = Command::new("id").arg("munge").output();
    if !user.is_ok_and(|o| o.status.success()) {
        return Some("no `munge` user (the munge package creates it)".into());
    }
    None
}

/// The daemons this test started; killed (by pid) and waited for on drop.
struct Daemons(Vec<(&'static str, Child)>);

impl Drop for Daemons {
    fn drop(&mut self) {
        for (_, child) in self.0.iter_mut().rev() {
            // SAFETY: kill on a pid this process spawned and has not reaped.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// A TCP port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn hostname() -> String {
    let out = Command::new("hostname").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn chown_munge(path: &Path) {
    let ok = Command::new("chown")
        .args(["-R", "munge:munge"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Start munged, slurmctld and slurmd under `dir`; returns the daemons and
/// the slurm.conf path.
fn start_cluster(dir: &Path) -> (Daemons, PathBuf) {
    let mut daemons = Daemons(Vec::new());
    // munged: its own key, socket, pid, log and seed, as the munge user.
    let munge = dir.join("munge");
    std::fs::create_dir_all(&munge).unwrap();
    let key: Vec<u8> = (0..1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ std::process::id() as u8)
        .collect();
    std::fs::write(munge.join("munge.key"), key).unwrap();
    set_mode(&munge.join("munge.key"), 0o400);
    // munged refuses a socket directory that others cannot search ("execute
    // permissions for all required"), and one that others can write.
    set_mode(&munge, 0o755);
    chown_munge(&munge);
    let socket = munge.join("munge.socket");
    let munged = Command::new("setpriv")
        .args(["--reuid=munge", "--regid=munge", "--init-groups", "munged"])
        .arg("--foreground")
        .arg(format!("--key-file={}", munge.join("munge.key").display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--pid-file={}", munge.join("munged.pid").display()))
        .arg(format!("--log-file={}", munge.join("munged.log").display()))
        .arg(format!(
            "--seed-file={}",
            munge.join("munged.seed").display()
        ))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("munged.stderr")).unwrap())
        .spawn()
        .expect("start munged");
    daemons.0.push(("munged", munged));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        let exited = daemons.0[0].1.try_wait().ok().flatten();
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "munged did not start ({exited:?}):\n{}",
            tail(&dir.join("munged.stderr"))
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    let state = dir.join("state");
    let spool = dir.join("spool");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::create_dir_all(&spool).unwrap();
    let conf = dir.join("slurm.conf");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::fs::write(
        &conf,
        format!(
            "ClusterName=enginetest\n\
             SlurmctldHost={host}\n\
             SlurmUser=root\n\
             SlurmdUser=root\n\
             SlurmctldPort={ctld}\n\
             SlurmdPort={d}\n\
             AuthType=auth/munge\n\
             CredType=cred/munge\n\
             AuthInfo=socket={socket}\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             JobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_Core\n\
             SchedulerType=sched/backfill\n\
             MpiDefault=none\n\
             ReturnToService=2\n\
             StateSaveLocation={state}\n\
             SlurmdSpoolDir={spool}\n\
             SlurmctldPidFile={dir}/slurmctld.pid\n\
             SlurmdPidFile={dir}/slurmd.pid\n\
             SlurmctldLogFile={dir}/slurmctld.log\n\
             SlurmdLogFile={dir}/slurmd.log\n\
             NodeName=localhost NodeHostname={host} CPUs={cpus} RealMemory=2000 State=UNKNOWN\n\
             PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n",
            host = hostname(),
            ctld = free_port(),
            d = free_port(),
            socket = socket.display(),
            state = state.display(),
            spool = spool.display(),
            dir = dir.display(),
        ),
    )
    .unwrap();
    for (name, args) in [
        ("slurmctld", vec!["-D", "-i", "-f"]),
        ("slurmd", vec!["-D", "-N", "localhost", "-f"]),
    ] {
        let child = Command::new(name)
            .args(args)
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        daemons.0.push((name, child));
        if name == "slurmctld" {
            let conf = conf.clone();
            wait_for(
                move || {
                    Command::new("sinfo")
                        .env("SLURM_CONF", &conf)
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .is_ok_and(|s| s.success())
                },
                60,
                "slurmctld",
            );
        }
    }
    let node_idle = {
        let conf = conf.clone();
        move || {
            Command::new("sinfo")
                .args(["-h", "-o", "%t"])
                .env("SLURM_CONF", &conf)
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
        }
    };
    wait_for(node_idle, 60, "the node to be idle");
    (daemons, conf)
}

fn wait_for(mut ready: impl FnMut() -> bool, seconds: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[test]
fn slurm_job_array_and_dependent_merge_equal_one_run() {
    if let Some(why) = unavailable() {
        if std::env::var("ENGINE_REQUIRE_SLURM").is_ok_and(|v| v == "1") {
            panic!("ENGINE_REQUIRE_SLURM=1 but the Slurm test cannot run: {why}");
        }
        eprintln!("slurm test skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // munged (the munge user) must be able to reach its directory.
    set_mode(dir.path(), 0o755);
    let root = dir.path().join("dfdc");
    let part = root.join("dfdc_train_part_0");
    let meta = common::dfdc_part(&part, &["grace_hopper.jpg", "astronaut.png"], 8, 1);
    common::write_json_object(&part.join("metadata.json"), meta);
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let args = format!(
        "--cpu --frames 8 --face-frames 2 --fake-sample 1 --models {}",
        models.display()
    );

    let (daemons, conf) = start_cluster(&dir.path().join("cluster"));
    let out = dir.path().join("analysis");
    let submit = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/slurm/analyze.sbatch"))
        .args(["submit", "--cpus-per-task=1", "--mem=400", "--time=20"])
        .current_dir(dir.path())
        .env("SLURM_CONF", &conf)
        .env("ENGINE", env!("CARGO_BIN_EXE_engine"))
        .env("ENGINE_ROOTS", &root)
        .env("ENGINE_OUT", &out)
        .env("ENGINE_SHARDS", "3")
        .env("ENGINE_ARGS", &args)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&submit.stdout).to_string();
    assert!(
        submit.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&submit.stderr)
    );
    assert!(
        said.contains("array job") && said.contains("merge job"),
        "{said}"
    );
    // Wait for the queue to empty (the merge runs after the array).
    let queue_empty = || {
        Command::new("squeue")
            .args(["-h", "-o", "%i %T"])
            .env("SLURM_CONF", &conf)
            .output()
            .is_ok_and(|o| o.status.success() && o.stdout.is_empty())
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    while !queue_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
    }
    let logs = || {
        let mut s = String::new();
        for e in std::fs::read_dir(dir.path()).unwrap().flatten() {
            if e.file_name().to_string_lossy().ends_with(".out") {
                s += &format!("--- {}\n{}\n", e.path().display(), tail(&e.path()));
            }
        }
        s + &format!(
            "--- slurmctld.log\n{}",
            tail(&dir.path().join("cluster/slurmctld.log"))
        )
    };
    assert!(
        out.join("merged/report.html").is_file(),
        "no merged output (queue empty: {}):\n{}",
        queue_empty(),
        logs()
    );
    drop(daemons);
    // Each array task analysed the shard its SLURM_ARRAY_TASK_ID named.
    for i in 0..3 {
        let m = common::read_json(&out.join(format!("shard_{i}/shard.json")));
        assert_eq!(m["shard"]["index"], i);
        assert_eq!(m["shard"]["count"], 3);
    }
    let single = dir.path().join("single");
    let o = Command::new(env!("CARGO_BIN_EXE_engine"))
        .arg("analyze")
        .arg(&root)
        .arg("--out")
        .arg(&single)
        .arg("--quiet")
        .args(args.split(' '))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in OUTPUTS {
        assert!(
            std::fs::read(single.join(f)).unwrap()
                == std::fs::read(out.join("merged").join(f)).unwrap(),
            "{f}: the Slurm merge differs from one run"
        );
    }
}
