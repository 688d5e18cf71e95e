//! Snapshot files for the tests that pin encodings: a line per sample, `name: hex`.

use std::fmt::Write as _;

/// Asserts that `samples`, rendered a line each, are what `snapshot` (a path below the
/// crate) holds; with `SKEIN_UPDATE_SNAPSHOTS` set, writes them there instead.
pub fn assert_pinned(snapshot: &str, samples: &[(String, Vec<u8>)]) {
    let mut rendered = String::new();
    for (name, bytes) in samples {
        writeln!(rendered, "{name}: {}", hex::encode(bytes)).expect("writing to a string");
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(snapshot);
    if std::env::var_os("SKEIN_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &rendered).expect("the snapshot is writable");
        return;
    }
    let pinned = std::fs::read_to_string(&path)
        .expect("the snapshot exists; generate it with SKEIN_UPDATE_SNAPSHOTS=1");
    for (expected, found) in pinned.lines().zip(rendered.lines()) {
        assert_eq!(
            found, expected,
            "an encoding changed; if on purpose, regenerate {snapshot} and say so in the commit"
        );
    }
    assert_eq!(
        pinned.lines().count(),
        rendered.lines().count(),
        "samples were added or removed; regenerate {snapshot}"
    );
}
