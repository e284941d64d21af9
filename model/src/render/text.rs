//! The human-readable plan: Flink's "Final TaskExecutor Memory configuration" log as a tree,
//! then the category quotas, JVM arguments, warnings and where every value came from.

use std::fmt::Write as _;

use membudget_core::Category;

use crate::{MemoryPlan, MemorySize, Source};

/// How to decorate the text rendering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextStyle {
    /// ANSI colours (only when writing to a terminal).
    pub color: bool,
}

impl TextStyle {
    /// No escape sequences: for pipes and files.
    pub const fn plain() -> TextStyle {
        TextStyle { color: false }
    }

    /// ANSI colours: for terminals.
    pub const fn colored() -> TextStyle {
        TextStyle { color: true }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

const BOLD: &str = "1";
const DIM: &str = "2";
const YELLOW: &str = "33";
const CYAN: &str = "36";

/// One line of the tree.
struct Node {
    label: &'static str,
    bytes: u64,
    note: Option<String>,
    children: Vec<Node>,
}

impl Node {
    fn leaf(label: &'static str, bytes: u64) -> Node {
        Node {
            label,
            bytes,
            note: None,
            children: Vec::new(),
        }
    }

    fn branch(label: &'static str, bytes: u64, children: Vec<Node>) -> Node {
        Node {
            label,
            bytes,
            note: None,
            children,
        }
    }
}

fn tree(plan: &MemoryPlan) -> (&'static str, Node) {
    match plan {
        MemoryPlan::TaskManager(p) => {
            let mut network = Node::leaf("Network", p.network);
            network.note = Some(format!(
                "{} buffers of {} bytes",
                p.network_buffers, p.segment_size
            ));
            let root = Node::branch(
                "Total Process Memory",
                p.total_process_memory,
                vec![
                    Node::branch(
                        "Total Flink Memory",
                        p.total_flink_memory,
                        vec![
                            Node::branch(
                                "Total JVM Heap Memory",
                                p.jvm_heap(),
                                vec![
                                    Node::leaf("Framework", p.framework_heap),
                                    Node::leaf("Task", p.task_heap),
                                ],
                            ),
                            Node::branch(
                                "Total Off-heap Memory",
                                p.managed + p.jvm_direct(),
                                vec![
                                    Node::leaf("Managed", p.managed),
                                    Node::branch(
                                        "Total JVM Direct Memory",
                                        p.jvm_direct(),
                                        vec![
                                            Node::leaf("Framework", p.framework_off_heap),
                                            Node::leaf("Task", p.task_off_heap),
                                            network,
                                        ],
                                    ),
                                ],
                            ),
                        ],
                    ),
                    Node::leaf("JVM Metaspace", p.jvm_metaspace),
                    Node::leaf("JVM Overhead", p.jvm_overhead),
                ],
            );
            ("Final TaskExecutor Memory configuration", root)
        }
        MemoryPlan::JobManager(p) => {
            let mut off_heap = Node::leaf("Off-heap", p.off_heap);
            if !p.jvm_direct_memory_limit {
                off_heap.note = Some("no -XX:MaxDirectMemorySize".to_owned());
            }
            let root = Node::branch(
                "Total Process Memory",
                p.total_process_memory,
                vec![
                    Node::branch(
                        "Total Flink Memory",
                        p.total_flink_memory,
                        vec![Node::leaf("JVM Heap", p.jvm_heap), off_heap],
                    ),
                    Node::leaf("JVM Metaspace", p.jvm_metaspace),
                    Node::leaf("JVM Overhead", p.jvm_overhead),
                ],
            );
            ("Final Master Memory configuration", root)
        }
    }
}

/// Flattens the tree into (glyph prefix, node) lines.
fn lines<'a>(node: &'a Node, prefix: String, own: String, out: &mut Vec<(String, &'a Node)>) {
    out.push((own, node));
    let count = node.children.len();
    for (i, child) in node.children.iter().enumerate() {
        let last = i + 1 == count;
        let own = format!("{prefix}{}", if last { "└─ " } else { "├─ " });
        let deeper = format!("{prefix}{}", if last { "   " } else { "│  " });
        lines(child, deeper, own, out);
    }
}

/// The plan as text: the memory tree, quotas, JVM arguments, warnings and sources.
///
/// # Examples
///
/// ```
/// use membudget_model::render::{render_text, TextStyle};
/// use membudget_model::{PlanRequest, Role};
///
/// let plan = PlanRequest::new(Role::TaskManager)
///     .environment(false)
///     .container(false)
///     .property("taskmanager.memory.flink.size", "1280m")
///     .plan()?;
/// let text = render_text(&plan, TextStyle::plain());
/// assert!(text.contains("Total Flink Memory"));
/// assert!(text.contains("1.250gb (1342177280 bytes)"));
/// # Ok::<(), membudget_model::ConfigError>(())
/// ```
pub fn render_text(plan: &MemoryPlan, style: TextStyle) -> String {
    let (title, root) = tree(plan);
    let mut rows = Vec::new();
    lines(&root, String::new(), String::new(), &mut rows);
    let width = rows
        .iter()
        .map(|(glyphs, node)| glyphs.chars().count() + node.label.len())
        .max()
        .unwrap_or(0);

    let mut out = String::new();
    let _ = writeln!(out, "{}", style.paint(BOLD, &format!("{title}:")));
    for (depth, (glyphs, node)) in rows.iter().enumerate() {
        let pad = width - glyphs.chars().count() - node.label.len();
        let label = if depth == 0 || !node.children.is_empty() {
            style.paint(BOLD, node.label)
        } else {
            node.label.to_owned()
        };
        let _ = write!(
            out,
            "  {}{label}:{}  {}",
            style.paint(DIM, glyphs),
            " ".repeat(pad),
            MemorySize::from(node.bytes).to_human_readable()
        );
        if let Some(note) = &node.note {
            let _ = write!(out, "  {}", style.paint(DIM, &format!("({note})")));
        }
        out.push('\n');
    }

    let quotas = plan.quotas();
    let _ = writeln!(
        out,
        "\n{}",
        style.paint(BOLD, &format!("membudget quotas ({} host):", plan.host()))
    );
    for category in Category::ALL {
        let _ = writeln!(
            out,
            "  {:<9} {}",
            category.name(),
            MemorySize::from(quotas.get(category)).to_human_readable()
        );
    }
    let _ = writeln!(
        out,
        "  {:<9} {}",
        "total",
        MemorySize::from(quotas.total()).to_human_readable()
    );

    let _ = writeln!(out, "\n{}", style.paint(BOLD, "JVM arguments:"));
    let _ = writeln!(out, "  {}", plan.jvm_args());

    if !plan.warnings().is_empty() {
        let _ = writeln!(out, "\n{}", style.paint(BOLD, "Warnings:"));
        for warning in plan.warnings() {
            let _ = writeln!(out, "  {} {warning}", style.paint(YELLOW, "!"));
        }
    }

    let sources = plan.sources();
    if !sources.is_empty() {
        let _ = writeln!(out, "\n{}", style.paint(BOLD, "Sources:"));
        let key_width = sources.keys().map(String::len).max().unwrap_or(0);
        // What the user (or the container) set first, then Flink's defaults.
        let explicit = sources.iter().filter(|(_, s)| s.is_explicit());
        let defaults = sources.iter().filter(|(_, s)| !s.is_explicit());
        for (key, source) in explicit.chain(defaults) {
            let text = source.to_string();
            let text = if matches!(source, Source::Default) {
                style.paint(DIM, &text)
            } else {
                style.paint(CYAN, &text)
            };
            let _ = writeln!(out, "  {key:<key_width$}  {text}");
        }
    }
    out
}
