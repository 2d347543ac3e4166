//! Plots as SVG (feature `plot`, with plotters' SVG backend: no system fonts needed, text
//! stays `<text>`): a JV measurement's curves with its figures of merit, and maximum power
//! over time per channel of a tracking run.
//!
//! Every series is a `<polyline>` whose class-free order is the legend's, and each label
//! is plain text, so a test (or a script) can read the figure back.

use plotters::prelude::*;

use crate::jv::{JvData, JvScan, Quantity};

/// Width and height of every figure, in SVG pixels.
const SIZE: (u32, u32) = (800, 520);

/// Why a figure could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the plot: {0}")]
pub struct PlotError(String);

fn error(e: impl std::fmt::Display) -> PlotError {
    PlotError(e.to_string())
}

/// The bounds of `points` (finite ones), padded by 5 %, never empty.
fn bounds(points: impl Iterator<Item = (f64, f64)>) -> ((f64, f64), (f64, f64)) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        return ((0.0, 1.0), (0.0, 1.0));
    }
    let pad = |lo: f64, hi: f64| {
        let span = if hi > lo { hi - lo } else { 1.0 };
        (lo - span * 0.05, hi + span * 0.05)
    };
    (pad(x0, x1), pad(y0, y1))
}

/// `Voc 1.112 V`, or `Voc -` when the instrument did not report it (or it is NaN).
fn figure(name: &str, q: Option<&Quantity>) -> String {
    match q.filter(|q| q.value.is_finite()) {
        Some(q) => format!("{name} {:.4} {}", q.value, q.unit),
        None => format!("{name} -"),
    }
}

/// The scan whose figures the plot shows: reverse, else the first.
fn headline(jv: &JvData) -> Option<&JvScan> {
    jv.scan("reverse").or_else(|| jv.scans.first())
}

/// A JV measurement as SVG: current density over voltage, one curve per scan (forward and
/// reverse), with Voc, Jsc, FF and PCE of the reverse scan written on the figure.
pub fn jv_svg(jv: &JvData) -> Result<String, PlotError> {
    let all = jv.scans.iter().flat_map(|s| s.points());
    let ((x0, x1), (y0, y1)) = bounds(all);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(error)?;
        let title = match (jv.device.as_str(), jv.user.as_str()) {
            ("", _) => "JV curve".to_string(),
            (device, "") => format!("JV curve: {device}"),
            (device, user) => format!("JV curve: {device} ({user})"),
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(error)?;
        chart
            .configure_mesh()
            .x_desc("Voltage (V)")
            .y_desc("Current density (mA/cm²)")
            .draw()
            .map_err(error)?;
        for (i, scan) in jv.scans.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let points: Vec<(f64, f64)> = scan
                .points()
                .into_iter()
                .filter(|(v, j)| v.is_finite() && j.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(error)?
                .label(scan.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(error)?;
        if let Some(scan) = headline(jv) {
            let p = &scan.parameters;
            let lines = [
                format!("{} scan", scan.name),
                figure("Voc", p.voc.as_ref()),
                figure("Jsc", p.jsc.as_ref()),
                figure("FF", p.fill_factor.as_ref()),
                figure("PCE", p.efficiency.as_ref()),
            ];
            for (i, line) in lines.iter().enumerate() {
                root.draw_text(
                    line,
                    &("sans-serif", 15).into_text_style(&root),
                    (90, 60 + 20 * i as i32),
                )
                .map_err(error)?;
            }
        }
        root.present().map_err(error)?;
    }
    Ok(svg)
}

/// One channel's maximum power over time: (seconds since the start, mW/cm²).
#[derive(Debug, Clone, PartialEq)]
pub struct PowerSeries {
    /// The channel.
    pub channel: u32,
    /// The points, in time order.
    pub points: Vec<(f64, f64)>,
}

/// A tracking run as SVG: maximum power density over time, one line per channel.
pub fn max_power_svg(series: &[PowerSeries]) -> Result<String, PlotError> {
    let ((x0, x1), (y0, y1)) = bounds(series.iter().flat_map(|s| s.points.iter().copied()));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Maximum power over time", ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(error)?;
        chart
            .configure_mesh()
            .x_desc("Time (s)")
            .y_desc("Maximum power (mW/cm²)")
            .draw()
            .map_err(error)?;
        for (i, s) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(t, p)| t.is_finite() && p.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(error)?
                .label(format!("channel {}", s.channel))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(error)?;
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(error)?;
        root.present().map_err(error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jv() -> JvData {
        serde_json::from_value(json!({
            "user": "ada", "device": "cell-7", "area_cm2": 0.1,
            "scans": [
                {"name": "forward", "data_schema": [{"name": "Voltage", "unit": "V"}, {"name": "Current", "unit": "mA/cm^2"}],
                 "data": [[0.0, 22.0], [0.5, 20.0], [1.0, 5.0], [1.1, 0.0]],
                 "parameters": {"voc": {"value": 1.1, "unit": "V"}}},
                {"name": "reverse", "data_schema": [{"name": "Voltage", "unit": "V"}, {"name": "Current", "unit": "mA/cm^2"}],
                 "data": [[1.1, 0.0], [1.0, 6.0], [0.5, 21.0], [0.0, 22.5]],
                 "parameters": {"voc": {"value": 1.1127, "unit": "V"}, "jsc": {"value": 22.5, "unit": "mA/cm^2"},
                                "fill factor": {"value": 85.9, "unit": "%"}, "efficiency": {"value": 21.5, "unit": "%"}}}
            ]
        }))
        .unwrap()
    }

    /// The data lines: polylines drawn 2 px wide (grid lines and legend marks are 1 px).
    fn polylines(svg: &str) -> usize {
        svg.split("<polyline")
            .skip(1)
            .filter(|tag| {
                tag.split('>')
                    .next()
                    .is_some_and(|t| t.contains(r#"stroke-width="2""#))
            })
            .count()
    }

    #[test]
    fn a_jv_plot_has_both_scans_labelled_and_the_figures_of_merit() {
        let svg = jv_svg(&jv()).unwrap();
        assert!(svg.starts_with("<svg"), "{svg:.80}");
        assert_eq!(polylines(&svg), 2, "a curve per scan");
        for want in [
            "forward",
            "reverse",
            "Voc 1.1127 V",
            "Jsc 22.5000 mA/cm^2",
            "FF 85.9000 %",
            "PCE 21.5000 %",
            "Voltage (V)",
            "cell-7 (ada)",
        ] {
            assert!(svg.contains(want), "{want} missing");
        }
    }

    #[test]
    fn missing_figures_and_empty_data_still_draw() {
        let svg = jv_svg(&JvData::default()).unwrap();
        assert!(svg.contains("JV curve") && !svg.contains("Voc"));
        let mut nan = jv();
        nan.scans[1].parameters.voc = Some(Quantity::new(f64::NAN, "V"));
        assert!(jv_svg(&nan).unwrap().contains("Voc -"));
    }

    #[test]
    fn a_power_plot_has_a_line_per_channel() {
        let series = [
            PowerSeries {
                channel: 0,
                points: vec![(0.0, 20.0), (10.0, 20.5), (20.0, 20.4)],
            },
            PowerSeries {
                channel: 3,
                points: vec![(0.0, 18.0), (10.0, f64::NAN), (20.0, 18.2)],
            },
        ];
        let svg = max_power_svg(&series).unwrap();
        assert_eq!(polylines(&svg), 2, "a line per channel");
        assert!(svg.contains("channel 0") && svg.contains("channel 3") && svg.contains("Time (s)"));
        assert!(max_power_svg(&[]).unwrap().contains("Maximum power"));
    }
}
