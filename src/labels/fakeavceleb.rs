//! FakeAVCeleb v1.2: `meta_data.csv` with header
//! `source,target1,target2,method,category,type,race,gender,path,` whose rows
//! carry one more value than the header names: the file name is under `path`
//! and its folder (e.g. `FakeAVCeleb/RealVideo-RealAudio/African/men/id00076`)
//! is the unnamed column after it. The folder's first components may not match
//! the root on disk (`FakeAVCeleb_v1.2/...`), so the longest matching tail of
//! it is used.

use super::util::{self, VideoIndex};
use super::{DatasetFiles, Label, LabelInfo, LabelOutcome};

/// Format name recorded in `layouts`.
const LAYOUT: &str = "fakeavceleb";
/// Name of the metadata file.
const META_NAME: &str = "meta_data.csv";
/// Column of the file name; its folder is the (unnamed) column after it.
const PATH_COLUMN: &str = "path";
/// Column of the source identity.
const SOURCE_COLUMN: &str = "source";
/// Column of the method (`real` for real videos).
const METHOD_COLUMN: &str = "method";
/// Column of the category (A real, B/C/D fake in video, audio or both).
const CATEGORY_COLUMN: &str = "category";
/// Column of the type (`RealVideo-FakeAudio`, ...).
const TYPE_COLUMN: &str = "type";
/// Column of the annotated race.
const RACE_COLUMN: &str = "race";
/// Column of the annotated gender (`men`/`women`).
const GENDER_COLUMN: &str = "gender";
/// Method value of real videos.
const REAL_METHOD: &str = "real";
/// Category of real video with real audio.
const REAL_CATEGORY: &str = "A";
/// Placeholder for an absent value.
const NONE_VALUE: &str = "-";

/// Label videos listed in FakeAVCeleb `meta_data.csv` files.
pub(super) fn apply(files: DatasetFiles<'_>, out: &mut LabelOutcome) {
    let candidates: Vec<&String> = files
        .metadata
        .iter()
        .filter(|rel| util::file_name(rel).eq_ignore_ascii_case(META_NAME))
        .collect();
    if candidates.is_empty() {
        return;
    }
    let index = VideoIndex::new(files.videos);
    for rel in candidates {
        apply_file(files, &index, rel, out);
    }
}

/// Column positions found in the header.
struct Columns {
    /// The `path` column (file name); the folder follows it.
    path: usize,
    /// Source identity.
    source: Option<usize>,
    /// Method.
    method: Option<usize>,
    /// Category (A-D).
    category: Option<usize>,
    /// Type (`RealVideo-FakeAudio`, ...).
    kind: Option<usize>,
    /// Annotated race.
    race: Option<usize>,
    /// Annotated gender.
    gender: Option<usize>,
    /// Fields a row must have: through the folder column.
    expected: usize,
}

impl Columns {
    /// Find the columns in `header`; `None` without a `path` column.
    fn find(header: &[String]) -> Option<Columns> {
        let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let path = col(PATH_COLUMN)?;
        Some(Columns {
            path,
            source: col(SOURCE_COLUMN),
            method: col(METHOD_COLUMN),
            category: col(CATEGORY_COLUMN),
            kind: col(TYPE_COLUMN),
            race: col(RACE_COLUMN),
            gender: col(GENDER_COLUMN),
            expected: header.len().max(path + 2),
        })
    }
}

/// One `meta_data.csv`.
fn apply_file(files: DatasetFiles<'_>, index: &VideoIndex<'_>, rel: &str, out: &mut LabelOutcome) {
    let rows = match util::read_text(files.root, rel).and_then(|t| util::csv_rows(&t)) {
        Ok(rows) => rows,
        Err(reason) => return out.concern(rel, reason),
    };
    let Some(((_, header), rows)) = rows.split_first() else {
        return out.concern(rel, "empty file: expected a header with a `path` column");
    };
    let Some(cols) = Columns::find(header) else {
        return out.concern(rel, format!("header {header:?} has no `path` column"));
    };
    let folder = util::parent(rel);
    let source = util::metadata_source(rel);
    let mut matched = 0usize;
    let mut problems: Vec<String> = Vec::new();
    for (line, fields) in rows {
        if fields.len() != cols.expected {
            problems.push(format!(
                "line {line} has {} fields, expected {}",
                fields.len(),
                cols.expected
            ));
            continue;
        }
        let Some(info) = row_info(&cols, fields, &source) else {
            problems.push(format!(
                "line {line} has no recognisable method, category or type"
            ));
            continue;
        };
        let videos = find_videos(index, folder, &fields[cols.path], &fields[cols.path + 1]);
        matched += videos.len();
        for video in videos {
            out.merge(video, info.clone());
        }
    }
    if let Some(first) = problems.first() {
        out.concern(
            rel,
            format!("{} malformed rows skipped; first: {first}", problems.len()),
        );
    }
    if matched > 0 {
        util::note_used(out, LAYOUT, Some(rel));
    } else if !rows.is_empty() {
        out.concern(
            rel,
            format!("none of its {} rows names a video file here", rows.len()),
        );
    }
}

/// A field when present and not the `-` placeholder.
fn field(fields: &[String], col: Option<usize>) -> Option<&str> {
    col.and_then(|c| fields.get(c))
        .map(String::as_str)
        .filter(|v| !v.is_empty() && *v != NONE_VALUE)
}

/// `real`/`fake` for the video and audio halves of a type such as
/// `RealVideo-FakeAudio`.
fn parse_type(kind: &str) -> Option<(&'static str, &'static str)> {
    let lower = kind.to_ascii_lowercase();
    let half = |medium: &str| {
        if lower.contains(&format!("real{medium}")) {
            Some("real")
        } else if lower.contains(&format!("fake{medium}")) {
            Some("fake")
        } else {
            None
        }
    };
    Some((half("video")?, half("audio")?))
}

/// What one row says; `None` when nothing in it gives a label.
fn row_info(cols: &Columns, fields: &[String], source: &str) -> Option<LabelInfo> {
    let method = field(fields, cols.method);
    let category = field(fields, cols.category);
    let kind = field(fields, cols.kind);
    let halves = kind.and_then(parse_type);
    let label = if let Some(method) = method {
        if method.eq_ignore_ascii_case(REAL_METHOD) {
            Label::Real
        } else {
            Label::Fake
        }
    } else if let Some(category) = category {
        if category.eq_ignore_ascii_case(REAL_CATEGORY) {
            Label::Real
        } else {
            Label::Fake
        }
    } else {
        match halves? {
            ("real", "real") => Label::Real,
            _ => Label::Fake,
        }
    };
    let mut info = LabelInfo {
        label,
        label_source: source.to_string(),
        method: method.filter(|_| label == Label::Fake).map(str::to_string),
        identity: field(fields, cols.source).map(str::to_string),
        ..LabelInfo::default()
    };
    let mut attr = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            info.attrs.insert(key.to_string(), value);
        }
    };
    attr("race", field(fields, cols.race).map(str::to_string));
    attr(
        "gender",
        field(fields, cols.gender).map(util::normalize_gender),
    );
    attr("category", category.map(str::to_ascii_uppercase));
    attr("type", kind.map(str::to_string));
    attr("video", halves.map(|h| h.0.to_string()));
    attr("audio", halves.map(|h| h.1.to_string()));
    Some(info)
}

/// The videos a row names: file `name` in `dir` (as written in the CSV),
/// matched on the longest tail of `dir` found under the CSV's folder.
fn find_videos<'a>(index: &VideoIndex<'a>, folder: &str, name: &str, dir: &str) -> Vec<&'a str> {
    let wanted = util::components(dir);
    if name.contains('/') || wanted.is_empty() {
        return index
            .locate(folder, &util::join(dir, name))
            .into_iter()
            .collect();
    }
    let candidates = index.named(folder, name);
    for start in 0..wanted.len() {
        let tail = &wanted[start..];
        let hits: Vec<&str> = candidates
            .iter()
            .copied()
            .filter(|video| {
                let dirs = util::components(util::parent(video));
                dirs.len() >= tail.len()
                    && dirs[dirs.len() - tail.len()..]
                        .iter()
                        .zip(tail)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b))
            })
            .collect();
        if !hits.is_empty() {
            return hits;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::{info, Tree};
    use super::*;

    const HEADER: &str = "source,target1,target2,method,category,type,race,gender,path,\n";
    const REAL_ROW: &str = "id00076,-,-,real,A,RealVideo-RealAudio,African,men,00109.mp4,FakeAVCeleb/RealVideo-RealAudio/African/men/id00076\n";
    const FAKE_ROW: &str = "id00076,id00166,-,faceswap-wav2lip,D,FakeVideo-FakeAudio,African,men,00109_id00166_wavtoLip.mp4,FakeAVCeleb/FakeVideo-FakeAudio/African/men/id00076\n";
    const AUDIO_ROW: &str = "id00077,-,-,rtvc,B,RealVideo-FakeAudio,Asian (East),women,00109.mp4,FakeAVCeleb/RealVideo-FakeAudio/Asian (East)/women/id00077\n";

    const REAL: &str = "FakeAVCeleb_v1.2/RealVideo-RealAudio/African/men/id00076/00109.mp4";
    const FAKE: &str =
        "FakeAVCeleb_v1.2/FakeVideo-FakeAudio/African/men/id00076/00109_id00166_wavtoLip.mp4";
    const AUDIO: &str = "FakeAVCeleb_v1.2/RealVideo-FakeAudio/Asian (East)/women/id00077/00109.mp4";

    fn tree(csv: &str) -> Tree {
        let mut tree = Tree::with_videos(&[REAL, FAKE, AUDIO]);
        tree.write("FakeAVCeleb_v1.2/meta_data.csv", csv.as_bytes());
        tree
    }

    #[test]
    fn ten_field_rows_under_a_nine_name_header() {
        let out = tree(&format!("{HEADER}{REAL_ROW}{FAKE_ROW}{AUDIO_ROW}")).run(apply);
        assert!(out.concerns.is_empty(), "{:?}", out.concerns);
        assert_eq!(out.layouts, vec!["fakeavceleb"]);
        let real = info(&out, REAL);
        assert_eq!(real.label, Label::Real);
        assert_eq!(real.label_source, "metadata:FakeAVCeleb_v1.2/meta_data.csv");
        assert_eq!(real.method, None);
        assert_eq!(real.identity.as_deref(), Some("id00076"));
        assert_eq!(real.attrs["race"], "African");
        assert_eq!(real.attrs["gender"], "male");
        assert_eq!(real.attrs["category"], "A");
        let fake = info(&out, FAKE);
        assert_eq!(fake.label, Label::Fake);
        assert_eq!(fake.method.as_deref(), Some("faceswap-wav2lip"));
        assert_eq!(fake.attrs["video"], "fake");
        assert_eq!(fake.attrs["audio"], "fake");
        // Same file name in another folder is matched by its folder.
        let audio = info(&out, AUDIO);
        assert_eq!(audio.label, Label::Fake);
        assert_eq!(audio.method.as_deref(), Some("rtvc"));
        assert_eq!(audio.identity.as_deref(), Some("id00077"));
        assert_eq!(audio.attrs["gender"], "female");
        assert_eq!(audio.attrs["race"], "Asian (East)");
        assert_eq!(audio.attrs["video"], "real");
        assert_eq!(audio.attrs["audio"], "fake");
    }

    #[test]
    fn header_without_trailing_comma() {
        let header = HEADER.replace(",\n", "\n");
        let out = tree(&format!("{header}{REAL_ROW}")).run(apply);
        assert!(out.concerns.is_empty(), "{:?}", out.concerns);
        assert_eq!(info(&out, REAL).label, Label::Real);
    }

    #[test]
    fn wrong_column_count_is_a_concern() {
        let short = "id00076,-,-,real,A,RealVideo-RealAudio,African,men,00109.mp4\n";
        let out = tree(&format!("{HEADER}{short}{FAKE_ROW}")).run(apply);
        assert_eq!(out.labels.len(), 1);
        assert!(out.labels.contains_key(FAKE));
        assert_eq!(
            out.concerns[0].reason,
            "1 malformed rows skipped; first: line 2 has 9 fields, expected 10"
        );
    }

    #[test]
    fn garbage_and_empty_files() {
        for (bytes, reason) in [
            (&b""[..], "empty file"),
            (&b"a,b\n1,2\n"[..], "has no `path` column"),
            (&b"source,path,\n\xff\xfe,x\n"[..], "not valid UTF-8"),
        ] {
            let mut tree = Tree::with_videos(&[REAL]);
            tree.write("meta_data.csv", bytes);
            let out = tree.run(apply);
            assert!(out.labels.is_empty());
            assert_eq!(out.concerns.len(), 1);
            assert!(
                out.concerns[0].reason.contains(reason),
                "{:?}",
                out.concerns
            );
        }
    }

    #[test]
    fn rows_naming_nothing() {
        let row = "id1,-,-,real,A,RealVideo-RealAudio,African,men,9.mp4,FakeAVCeleb/x/id1\n";
        let out = tree(&format!("{HEADER}{row}")).run(apply);
        assert!(out.labels.is_empty());
        assert_eq!(
            out.concerns[0].reason,
            "none of its 1 rows names a video file here"
        );
    }
}
