//! Python tools the tests drive (the `standardwebhooks` library, schemathesis), from PyPI into a
//! virtualenv under `target/test-venv`, made on first use (`scripts/test.sh` makes it beforehand).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

const PACKAGES: &[&str] = &["standardwebhooks", "schemathesis"];

/// The virtualenv's folder, with every package of [`PACKAGES`] importable.
pub fn venv() -> PathBuf {
    static MAKING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv");
    let python = venv.join("bin/python");
    let ready = || {
        PACKAGES.iter().all(|p| {
            Command::new(&python)
                .args(["-c", &format!("import {p}")])
                .status()
                .is_ok_and(|s| s.success())
        })
    };
    if !ready() {
        if !python.exists() {
            let made = Command::new(super::tools::require("python3"))
                .args(["-m", "venv"])
                .arg(&venv)
                .status();
            assert!(made.is_ok_and(|s| s.success()), "python3 -m venv {}", venv.display());
        }
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "-q"])
            .args(PACKAGES)
            .status();
        assert!(pip.is_ok_and(|s| s.success()), "pip install {PACKAGES:?} (PyPI)");
    }
    assert!(ready(), "{PACKAGES:?} importable in {}", venv.display());
    venv
}
