//! The optional plot: records/ms against buffers-per-channel, one line per buffer source (and
//! per channels × flush pair when the grid has several). SVG or PNG; text is rendered with a
//! bundled DejaVu Sans font, so no system font library is needed.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::report::NetworkReport;
use crate::bench::BenchError;

const SIZE: (u32, u32) = (1024, 640);

/// Tableau's 10 colours: distinguishable on white, unlike a generated palette's yellows.
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Draws `report` to `path` (`.svg` or `.png`, checked by the settings).
///
/// # Errors
/// [`BenchError::Io`] when drawing or writing fails.
pub fn draw(report: &NetworkReport, path: &Path) -> Result<(), BenchError> {
    register_fonts();
    let png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let drawn = if png {
        let root = BitMapBackend::new(path, SIZE).into_drawing_area();
        chart(&root, report).and_then(|()| root.present().map_err(|e| e.to_string()))
    } else {
        let root = SVGBackend::new(path, SIZE).into_drawing_area();
        chart(&root, report).and_then(|()| root.present().map_err(|e| e.to_string()))
    };
    drawn.map_err(|e| BenchError::io(&format!("draw the plot {}", path.display()), e))
}

fn register_fonts() {
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        // The bundled font is valid; should it not be, text is simply left out.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

/// One line: a label and its (buffers-per-channel, records/ms) points.
type Line = (String, Vec<(u64, f64)>);

fn lines(report: &NetworkReport) -> Vec<Line> {
    let mut pairs: Vec<(usize, u64)> = Vec::new();
    for r in &report.results {
        if !pairs.contains(&(r.channels, r.flush_timeout_ms)) {
            pairs.push((r.channels, r.flush_timeout_ms));
        }
    }
    let mut out: Vec<Line> = Vec::new();
    for r in &report.results {
        let label = if pairs.len() > 1 {
            format!(
                "{} ({} channels, flush {} ms)",
                r.source, r.channels, r.flush_timeout_ms
            )
        } else {
            r.source.to_owned()
        };
        let point = (r.buffers_per_channel as u64, r.records_per_ms);
        match out.iter_mut().find(|(l, _)| *l == label) {
            Some((_, points)) => points.push(point),
            None => out.push((label, vec![point])),
        }
    }
    for (_, points) in &mut out {
        points.sort_by_key(|p| p.0);
    }
    out
}

fn chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &NetworkReport,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let lines = lines(report);
    let max_x = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(x, _)| x))
        .max()
        .unwrap_or(1);
    let max_y = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(_, y)| y))
        .fold(1.0, f64::max);
    let first = report.results.first();
    let caption = format!(
        "membudget bench network: {} writers, {}-byte records, {}-byte buffers",
        first.map_or(0, |r| r.writers),
        report.settings.record_size,
        report.network_memory.segment_size
    );
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        // Head room above the data for the legend (about 5% of the height per line).
        .build_cartesian_2d(0..max_x + 1, 0.0..max_y * (1.1 + 0.05 * lines.len() as f64))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("buffers per channel (taskmanager.network.memory.buffers-per-channel)")
        .y_desc("records/ms")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(err)?;
    for (i, (label, points)) in lines.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    Ok(())
}
