//! A recorded session drawn as SVG: one panel per value key over a shared time axis, the
//! events marked across every panel, start and end labelled (feature `plot`).
//!
//! ```text
//!  Arctop session                2024-05-01 12:00:01.234 UTC, 30.0 s, 2 keys, complete
//!  events  CONNECTED      QA failed: MOTION_TOO_HIGH      (labels of the marks below)
//!  focus   (score 0-100, 50 neutral)  ~~~~~|~~~~~~~~~~~~~~~~~|~~~~~~~   one line per key
//!  heart_rate (bpm)                   ~~~~~|~~~~~~~~~~~~~~~~~|~~~~~~~   (x y z for vectors)
//!          0 s                                              30 s
//!  start 12:00:01.234 UTC                              end 12:00:31.234 UTC
//! ```
//!
//! - The y range is the key's known [`Scale`](crate::scale::Scale) range (widened when
//!   values leave it), else the data's range. The neutral point (50) is a dashed line.
//! - Low-confidence values (-1, NaN) are left out of the line, which breaks there, and
//!   shown as grey crosses along the panel's bottom.
//! - Marks: a vertical line through every panel, labelled above the panels. Red for trouble
//!   (a lost or failed headband connection, a failed QA, an SDK error), green for a headband
//!   (re)connection, grey for the end (labelled by the footer). A passed QA is a pale green
//!   triangle above the panels only: they come every few seconds. Labels too close to
//!   others for three rows are left out; the line still marks the event.
//!
//! The SVG backend of plotters writes text as `<text>` elements and estimates its size
//! without font files, so drawing needs no system fonts.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::recording::{Clock, Mark, MarkEvent, Recording, Series};

/// How big the drawing is.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOptions {
    /// The width in pixels.
    pub width: u32,
    /// The height of one key's panel in pixels.
    pub panel_height: u32,
    /// The title at the top (`Arctop session` when `None`).
    pub title: Option<String>,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            width: 1000,
            panel_height: 170,
            title: None,
        }
    }
}

/// Why a recording cannot be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The recording has no values.
    #[error("the recording has no values to plot")]
    NothingToPlot,
    /// The drawing library failed.
    #[error("drawing failed: {0}")]
    Draw(String),
}

/// Line colours of the components of a value (one for a scalar, x y z for a vector).
pub const SERIES_COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
/// Marks that need attention.
pub const TROUBLE_COLOR: RGBColor = RGBColor(214, 39, 40);
/// Headband (re)connections.
pub const CONNECTED_COLOR: RGBColor = RGBColor(44, 160, 44);
/// Passed QA verdicts.
pub const QA_PASSED_COLOR: RGBColor = RGBColor(152, 223, 138);
/// The end of the session and low-confidence crosses.
pub const QUIET_COLOR: RGBColor = RGBColor(127, 127, 127);

const HEADER: u32 = 40;
const STRIP: u32 = 54;
const FOOTER: u32 = 58;
const Y_LABELS: u32 = 64;
const MARGIN_RIGHT: u32 = 24;
const STRIP_ROWS: usize = 3;
const FONT: &str = "sans-serif";

/// Draws a recording as an SVG document.
///
/// ```
/// use arctop::plot::{PlotOptions, render_svg};
/// use arctop::recording::Recording;
///
/// let text = r#"{"command":"valueChange","timestamp":1000,"key":"focus","value":50}
/// {"command":"valueChange","timestamp":2000,"key":"focus","value":55}
/// {"command":"sessionComplete","timestamp":2500}"#;
/// let svg = render_svg(&Recording::parse(text)?, &PlotOptions::default())?;
/// assert!(svg.starts_with("<svg") && svg.contains("focus"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render_svg(recording: &Recording, options: &PlotOptions) -> Result<String, PlotError> {
    if recording.series.iter().all(|s| s.samples.is_empty()) {
        return Err(PlotError::NothingToPlot);
    }
    let panels = u32::try_from(recording.series.len()).unwrap_or(u32::MAX);
    let height = HEADER
        .saturating_add(STRIP)
        .saturating_add(options.panel_height.saturating_mul(panels))
        .saturating_add(FOOTER);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (options.width, height)).into_drawing_area();
        draw(&root, recording, options).map_err(|e| PlotError::Draw(e.to_string()))?;
        root.present().map_err(|e| PlotError::Draw(e.to_string()))?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawError<'a> = DrawingAreaErrorKind<<SVGBackend<'a> as DrawingBackend>::ErrorType>;
type Drawn<'a> = Result<(), DrawError<'a>>;
type TimeChart<'a, 'b> =
    ChartContext<'b, SVGBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn draw<'a>(root: &Area<'a>, recording: &Recording, options: &PlotOptions) -> Drawn<'a> {
    root.fill(&WHITE)?;
    let (header, rest) = root.split_vertically(HEADER);
    let (strip, rest) = rest.split_vertically(STRIP);
    let panels_height = options
        .panel_height
        .saturating_mul(u32::try_from(recording.series.len()).unwrap_or(u32::MAX));
    let (panels, footer) = rest.split_vertically(panels_height);
    let span = recording.clock.span().max(1e-3);

    draw_header(&header, recording, options)?;
    draw_strip(&strip, &recording.marks, span)?;
    let areas = panels.split_evenly((recording.series.len().max(1), 1));
    for (series, area) in recording.series.iter().zip(&areas) {
        draw_panel(area, series, &recording.marks, span)?;
    }
    draw_footer(&footer, recording.clock, span)
}

fn text_style(size: u32, color: RGBColor, pos: Pos) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, size).into_font(),
        color: color.to_backend_color(),
        pos,
    }
}

fn draw_header<'a>(area: &Area<'a>, recording: &Recording, options: &PlotOptions) -> Drawn<'a> {
    let (width, _) = area.dim_in_pixel();
    let title = options.title.as_deref().unwrap_or("Arctop session");
    area.draw_text(
        title,
        &TextStyle {
            font: (FONT, 20, FontStyle::Bold).into_font(),
            ..text_style(20, BLACK, Pos::new(HPos::Left, VPos::Center))
        },
        (12, 20),
    )?;
    let ending = if recording.is_complete() {
        "complete"
    } else {
        "no sessionComplete"
    };
    let summary = match recording.clock {
        Clock::Timestamps { start_ms, .. } => format!(
            "{}, {:.1} s, {} keys, {ending}",
            utc_text(start_ms),
            recording.clock.span(),
            recording.series.len()
        ),
        Clock::Order { messages } => {
            format!("{messages} messages without timestamps, {ending}")
        }
    };
    area.draw_text(
        &summary,
        &text_style(13, QUIET_COLOR, Pos::new(HPos::Right, VPos::Center)),
        (i32::try_from(width).unwrap_or(i32::MAX) - 12, 20),
    )
}

/// A chart over the shared time axis whose plotting area lines up with every panel
/// (`x_labels`: the axis labels above it, for the footer under the last panel).
fn time_chart<'a, 'b>(
    area: &'b Area<'a>,
    span: f64,
    y: std::ops::Range<f64>,
    x_labels: bool,
) -> Result<TimeChart<'a, 'b>, DrawError<'a>> {
    ChartBuilder::on(area)
        .margin_top(if x_labels { 0 } else { 6 })
        .margin_bottom(6)
        .margin_right(MARGIN_RIGHT)
        .y_label_area_size(Y_LABELS)
        .top_x_label_area_size(if x_labels { 24 } else { 0 })
        .build_cartesian_2d(0.0..span, y)
}

/// Mark labels over the panels, in up to three rows so that close marks do not overlap.
fn draw_strip<'a>(area: &Area<'a>, marks: &[Mark], span: f64) -> Drawn<'a> {
    let mut chart = time_chart(area, span, 0.0..STRIP_ROWS as f64, false)?;
    let (left, _) = chart.plotting_area().get_pixel_range();
    area.draw_text(
        "events",
        &text_style(12, QUIET_COLOR, Pos::new(HPos::Right, VPos::Center)),
        (left.start - 8, 15),
    )?;
    let pixels_per_unit = f64::from(chart.plotting_area().dim_in_pixel().0) / span;
    // Where each row's last label ends, in axis units.
    let mut row_end = [f64::NEG_INFINITY; STRIP_ROWS];
    for mark in marks {
        let color = mark_color(&mark.event);
        match mark.event {
            MarkEvent::Qa { passed: true, .. } => {
                chart.draw_series(std::iter::once(TriangleMarker::new(
                    (mark.at, 0.25),
                    4,
                    color.filled(),
                )))?;
                continue;
            }
            // The footer's `end` and the header's `complete` say it already.
            MarkEvent::SessionComplete => continue,
            _ => {}
        }
        let label = mark.event.label();
        // The SVG backend's size estimate: about 0.46 em per character at 12 px.
        let width = (label.chars().count() as f64 * 6.5 + 8.0) / pixels_per_unit;
        // A label that would run past the end is written leftwards from its mark.
        let (h_pos, from, to) = if mark.at + width > span {
            (HPos::Right, mark.at - width, mark.at)
        } else {
            (HPos::Left, mark.at, mark.at + width)
        };
        let Some(row) = row_end.iter().position(|&end| end < from) else {
            continue; // every row is taken here: the line below still shows the mark
        };
        row_end[row] = to;
        let y = STRIP_ROWS as f64 - 0.5 - row as f64;
        chart.draw_series(std::iter::once(Text::new(
            label,
            (mark.at, y),
            text_style(12, color, Pos::new(h_pos, VPos::Center)),
        )))?;
    }
    Ok(())
}

fn mark_color(event: &MarkEvent) -> RGBColor {
    match event {
        _ if event.is_trouble() => TROUBLE_COLOR,
        MarkEvent::Connection { .. } => CONNECTED_COLOR,
        MarkEvent::Qa { .. } => QA_PASSED_COLOR,
        _ => QUIET_COLOR,
    }
}

/// The y range of a panel: the key's scale widened to the data, or the data padded.
fn y_range(series: &Series) -> (f64, f64) {
    let data = series.confident_range();
    let (lo, hi) = match (series.key.scale().and_then(|s| s.range), data) {
        (Some((min, max)), Some((lo, hi))) => (min.min(lo), max.max(hi)),
        (Some(range), None) => range,
        (None, Some((lo, hi))) if hi > lo => (lo, hi),
        (None, Some((x, _))) => (x - 1.0, x + 1.0),
        (None, None) => (0.0, 1.0),
    };
    // Values near ±f64::MAX would make the span infinite (and the axis endless): such an
    // axis stops at a quarter of the largest float, and the line runs off the panel.
    let (lo, hi) = if (hi - lo).is_finite() {
        (lo, hi)
    } else {
        (lo.max(-f64::MAX / 4.0), hi.min(f64::MAX / 4.0))
    };
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

fn draw_panel<'a>(area: &Area<'a>, series: &Series, marks: &[Mark], span: f64) -> Drawn<'a> {
    let (lo, hi) = y_range(series);
    let mut chart = time_chart(area, span, lo..hi, false)?;
    let caption = match series.key.scale() {
        Some(scale) => format!("{} ({})", series.key, scale.describe()),
        None => series.key.to_string(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_labels(5)
        .x_labels(10)
        .y_label_formatter(&|y| trim_number(*y))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(225, 225, 225))
        .label_style((FONT, 11))
        .draw()?;
    if let Some(neutral) = series.key.scale().and_then(|s| s.neutral) {
        chart.draw_series(DashedLineSeries::new(
            [(0.0, neutral), (span, neutral)],
            4,
            4,
            RGBColor(190, 190, 190).into(),
        ))?;
    }
    // Trouble last, so that a disconnection stays red under the reconnection that follows
    // it at the same millisecond.
    let (trouble, other): (Vec<&Mark>, Vec<&Mark>) =
        marks.iter().partition(|m| m.event.is_trouble());
    for mark in other.into_iter().chain(trouble) {
        if matches!(mark.event, MarkEvent::Qa { passed: true, .. }) {
            continue; // shown in the strip only: a line every few seconds hides the data
        }
        chart.draw_series(std::iter::once(PathElement::new(
            [(mark.at, lo), (mark.at, hi)],
            mark_color(&mark.event).stroke_width(1),
        )))?;
    }
    let width = series.width();
    for component in 0..width {
        let color = SERIES_COLORS[component % SERIES_COLORS.len()];
        for run in confident_runs(series, component) {
            if let [point] = run[..] {
                // A value alone between low-confidence ones: a dot, as a line has no length.
                chart.draw_series(std::iter::once(Circle::new(point, 2, color.filled())))?;
            }
            chart.draw_series(LineSeries::new(run, color.stroke_width(2)))?;
        }
    }
    let crosses = series
        .samples
        .iter()
        .filter(|s| s.value.is_low_confidence());
    chart.draw_series(crosses.map(|s| {
        Cross::new(
            (s.at, lo + (hi - lo) * 0.04),
            3,
            QUIET_COLOR.stroke_width(1),
        )
    }))?;
    chart.draw_series(std::iter::once(Text::new(
        caption,
        (span * 0.005, hi),
        text_style(13, BLACK, Pos::new(HPos::Left, VPos::Top)),
    )))?;
    if width > 1 {
        let names = component_names(width);
        for (i, name) in names.iter().enumerate() {
            chart.draw_series(std::iter::once(Text::new(
                name.clone(),
                (span, hi - (hi - lo) * 0.1 * i as f64),
                text_style(12, SERIES_COLORS[i % SERIES_COLORS.len()], {
                    Pos::new(HPos::Right, VPos::Top)
                }),
            )))?;
        }
    }
    Ok(())
}

/// The names of a vector value's components: x y z for three, 0 1 2 ... otherwise.
pub fn component_names(width: usize) -> Vec<String> {
    if width == 3 {
        ["x", "y", "z"].map(String::from).to_vec()
    } else {
        (0..width).map(|i| i.to_string()).collect()
    }
}

/// The stretches of one component between low-confidence values, as points.
fn confident_runs(series: &Series, component: usize) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for sample in &series.samples {
        match sample.value.values().get(component) {
            Some(&x) if !crate::message::is_low_confidence(x) && x.is_finite() => {
                if let Some(run) = runs.last_mut() {
                    run.push((sample.at, x));
                }
            }
            _ => runs.push(Vec::new()),
        }
    }
    runs.retain(|run| !run.is_empty());
    runs
}

fn draw_footer<'a>(area: &Area<'a>, clock: Clock, span: f64) -> Drawn<'a> {
    let mut chart = time_chart(area, span, 0.0..1.0, true)?;
    let unit = match clock {
        Clock::Timestamps { .. } => " s",
        Clock::Order { .. } => "",
    };
    let format = |x: &f64| format!("{}{unit}", trim_number(*x));
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_y_axis()
        .x_labels(10)
        .x_label_formatter(&format)
        .label_style((FONT, 11))
        .draw()?;
    let (start, end) = match clock {
        Clock::Timestamps { start_ms, end_ms } => (
            format!("start {}", utc_text(start_ms)),
            format!("end {}", utc_text(end_ms)),
        ),
        Clock::Order { messages } => (
            "start: message 1".into(),
            format!("end: message {messages}"),
        ),
    };
    chart.draw_series([
        Text::new(
            start,
            (0.0, 0.1),
            text_style(12, BLACK, Pos::new(HPos::Left, VPos::Bottom)),
        ),
        Text::new(
            end,
            (span, 0.1),
            text_style(12, BLACK, Pos::new(HPos::Right, VPos::Bottom)),
        ),
    ])?;
    Ok(())
}

/// `12.5`, `30`, `0.25`: an axis number without trailing zeros.
fn trim_number(x: f64) -> String {
    let text = format!("{x:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `2024-05-01 12:00:01.234 UTC` for Unix milliseconds.
pub fn utc_text(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let day_ms = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03} UTC",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the well-known
/// era-based conversion: 400-year eras of 146,097 days, years starting in March).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = r#"{"command":"connection","timestamp":1700000000000,"previous":1,"current":2}
{"command":"valueChange","timestamp":1700000000000,"key":"focus","value":50}
{"command":"valueChange","timestamp":1700000001000,"key":"focus","value":60}
{"command":"valueChange","timestamp":1700000002000,"key":"focus","value":-1}
{"command":"valueChange","timestamp":1700000003000,"key":"focus","value":55}
{"command":"valueChange","timestamp":1700000004000,"key":"focus","value":52}
{"command":"qa","timestamp":1700000002500,"passed":false,"type":2}
{"command":"qa","timestamp":1700000003500,"passed":true,"type":0}
{"command":"valueChange","timestamp":1700000001500,"key":"motion","value":[1,2,3]}
{"command":"valueChange","timestamp":1700000002500,"key":"motion","value":[2,3,4]}
{"command":"sessionComplete","timestamp":1700000005000}
"#;

    fn svg_of(text: &str) -> String {
        render_svg(&Recording::parse(text).unwrap(), &PlotOptions::default()).unwrap()
    }

    fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or_default().trim().to_string())
            .collect()
    }

    /// The polylines drawn in a colour, as their point counts.
    fn polylines(doc: &roxmltree::Document<'_>, color: RGBColor) -> Vec<usize> {
        let stroke = format!("#{:02X}{:02X}{:02X}", color.0, color.1, color.2);
        doc.descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .filter(|n| n.attribute("stroke") == Some(stroke.as_str()))
            .map(|n| n.attribute("points").unwrap().split_whitespace().count())
            .collect()
    }

    #[test]
    fn a_session_is_drawn_with_its_series_marks_start_and_end() {
        let svg = svg_of(SESSION);
        let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let height: u32 = doc
            .root_element()
            .attribute("height")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(height, HEADER + STRIP + 2 * 170 + FOOTER, "two panels");
        let texts = texts(&doc);
        for needle in [
            "focus (score 0-100, 50 neutral)",
            "motion",
            "x",
            "y",
            "z",
            "CONNECTED",
            "QA failed: MOTION_TOO_HIGH",
            "start 2023-11-14 22:13:20.000 UTC",
            "end 2023-11-14 22:13:25.000 UTC",
        ] {
            assert!(texts.iter().any(|t| t == needle), "{needle:?} in {texts:?}");
        }
        assert!(!texts.iter().any(|t| t == "QA passed"), "unlabelled");
        assert!(
            !texts.iter().any(|t| t == "session complete"),
            "the footer says it"
        );
        // focus: 50, 60 | -1 | 55, 52: two runs of two; motion: one run per component.
        let mut blue = polylines(&doc, SERIES_COLORS[0]);
        blue.sort_unstable();
        assert_eq!(blue, [2, 2, 2], "{blue:?}");
        assert_eq!(polylines(&doc, SERIES_COLORS[1]), [2]);
        assert_eq!(polylines(&doc, SERIES_COLORS[2]), [2]);
        // Each panel crosses the connection, the failed QA and the end: 3 marks x 2 panels.
        assert_eq!(polylines(&doc, TROUBLE_COLOR).len(), 2);
        assert_eq!(polylines(&doc, CONNECTED_COLOR).len(), 2);
        assert_eq!(
            polylines(&doc, QUIET_COLOR).len(),
            2,
            "the end, in each panel"
        );
        let cross_lines = doc
            .descendants()
            .filter(|n| n.has_tag_name("line") && n.attribute("stroke") == Some("#7F7F7F"))
            .count();
        assert_eq!(cross_lines, 2, "one low-confidence cross: two strokes");
    }

    #[test]
    fn absurd_values_and_timestamps_still_draw() {
        let text = format!(
            "{{\"command\":\"valueChange\",\"timestamp\":{},\"key\":\"g\",\"value\":[1e308,-1e308]}}\n\
             {{\"command\":\"valueChange\",\"timestamp\":{},\"key\":\"g\",\"value\":[1,2]}}\n",
            i64::MIN,
            i64::MAX
        );
        let svg = svg_of(&text);
        roxmltree::Document::parse(&svg).expect("well-formed SVG");
    }

    #[test]
    fn without_values_there_is_nothing_to_plot() {
        let recording = Recording::parse(r#"{"command":"qa","passed":true}"#).unwrap();
        assert!(matches!(
            render_svg(&recording, &PlotOptions::default()),
            Err(PlotError::NothingToPlot)
        ));
    }

    #[test]
    fn recordings_without_timestamps_count_messages() {
        let svg = svg_of(
            "{\"command\":\"valueChange\",\"key\":\"p-1\",\"value\":3}\n\
             {\"command\":\"valueChange\",\"key\":\"p-1\",\"value\":3}\n",
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let texts = texts(&doc);
        for needle in ["p-1", "start: message 1", "end: message 2"] {
            assert!(texts.iter().any(|t| t == needle), "{needle:?} in {texts:?}");
        }
    }

    #[test]
    fn utc_text_handles_epochs_leap_days_and_negative_times() {
        let cases = [
            (0, "1970-01-01 00:00:00.000 UTC"),
            (951_782_400_000, "2000-02-29 00:00:00.000 UTC"),
            (1_700_000_000_123, "2023-11-14 22:13:20.123 UTC"),
            (-1, "1969-12-31 23:59:59.999 UTC"),
        ];
        for (ms, text) in cases {
            assert_eq!(utc_text(ms), text, "{ms}");
        }
    }

    #[test]
    fn component_names_are_xyz_for_three() {
        assert_eq!(component_names(3), ["x", "y", "z"]);
        assert_eq!(component_names(2), ["0", "1"]);
    }
}
