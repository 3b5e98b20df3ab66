//! The SVG chart: latency per call (p50 and p99.9, one producer) and throughput, one
//! horizontal bar per logger, on logarithmic axes.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::measure::{Mode, Outcome};
use crate::report::ns;
use crate::Row;

const P50: RGBColor = RGBColor(66, 133, 244);
const P999: RGBColor = RGBColor(234, 67, 53);
const RATE: RGBColor = RGBColor(52, 168, 83);
const WIDTH: u32 = 1100;
const ROW_HEIGHT: u32 = 34;
const PANEL_EXTRA: u32 = 110;
const FOOTER: u32 = 30;

/// One bar group: a logger's name and its values.
struct Bar {
    name: String,
    values: Vec<f64>,
}

/// Writes the chart of `rows` to `path`.
pub fn draw(path: &Path, rows: &[Row], footer: &str) -> Result<(), Box<dyn Error>> {
    let outcome = |logger: &str, mode: Mode| -> Option<&Outcome> {
        rows.iter()
            .find(|r| r.job.logger == logger && r.job.mode == mode && r.job.threads == 1)
            .and_then(|r| r.result.as_ref().ok())
    };
    let mut names: Vec<&str> = Vec::new();
    for row in rows {
        if !names.contains(&row.job.logger) {
            names.push(row.job.logger);
        }
    }
    let latency: Vec<Bar> = names
        .iter()
        .filter_map(|&n| {
            let l = outcome(n, Mode::Latency)?.latency.as_ref()?;
            Some(Bar {
                name: n.to_owned(),
                values: vec![l.p50, l.p999],
            })
        })
        .collect();
    let throughput: Vec<Bar> = names
        .iter()
        .filter(|&&n| n != "none")
        .filter_map(|&n| {
            let o = outcome(n, Mode::Throughput)?;
            let lost = o.lost.unwrap_or(0);
            Some(Bar {
                name: if lost > 0 {
                    format!("{n} (lost {lost})")
                } else {
                    n.to_owned()
                },
                values: vec![o.events_per_sec?],
            })
        })
        .collect();

    let top = latency.len() as u32 * ROW_HEIGHT + PANEL_EXTRA;
    let bottom = throughput.len() as u32 * ROW_HEIGHT + PANEL_EXTRA;
    let root = SVGBackend::new(path, (WIDTH, top + bottom + FOOTER)).into_drawing_area();
    root.fill(&WHITE)?;
    let (upper, rest) = root.split_vertically(top);
    let (lower, foot) = rest.split_vertically(bottom);

    panel(
        &upper,
        "Latency per call, 1 producer (ns, log scale; lower is better)",
        &latency,
        &[("p50", P50), ("p99.9", P999)],
        &|v| ns(v),
        &axis_ns,
    )?;
    panel(
        &lower,
        "Throughput, 1 producer, until all is written (events/s, log scale; higher is better)",
        &throughput,
        &[("events/s", RATE)],
        &|v| format!("{:.2} M", v / 1e6),
        &|v| format!("{} M", v / 1e6),
    )?;
    foot.draw(&Text::new(
        footer.to_owned(),
        (10, 8),
        ("sans-serif", 13).into_font().color(&BLACK.mix(0.7)),
    ))?;
    root.present()?;
    Ok(())
}

/// One panel of grouped horizontal bars; `series` names and colours the values of a bar.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    bars: &[Bar],
    series: &[(&str, RGBColor)],
    label: &dyn Fn(f64) -> String,
    axis: &dyn Fn(f64) -> String,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    if bars.is_empty() {
        area.draw(&Text::new(
            format!("{title}: no results"),
            (10, 10),
            ("sans-serif", 16),
        ))?;
        return Ok(());
    }
    let values = bars.iter().flat_map(|b| b.values.iter().copied());
    let (min, max) = values
        .filter(|v| *v > 0.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let lo = 10_f64.powf((min / 2.0).log10().floor());
    // Room on the right for the value printed after the longest bar.
    let hi = 10_f64.powf((max * 4.0).log10().ceil());
    let n = bars.len();

    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .margin_right(40)
        .x_label_area_size(30)
        .y_label_area_size(170)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_label_formatter(&|_| String::new())
        .x_label_formatter(&|v| axis(*v))
        .label_style(("sans-serif", 13))
        .draw()?;

    // Logger k's group is the band [n - 1 - k, n - k], so that the first is at the top; its
    // bars fill the middle 80% of the band, split evenly between the series.
    let parts = series.len() as f64;
    let band = |k: usize, s: usize| {
        let y0 = (n - 1 - k) as f64 + 0.1 + 0.8 * (parts - 1.0 - s as f64) / parts;
        (y0, y0 + 0.8 / parts)
    };
    let (base_x, base_y) = area.get_base_pixel();
    for (k, bar) in bars.iter().enumerate() {
        // Names go in the label area, left of the axis, centred on their band.
        let (x, y) = chart.backend_coord(&(lo, (n - 1 - k) as f64 + 0.5));
        area.draw(&Text::new(
            bar.name.clone(),
            (x - base_x - 8, y - base_y),
            ("sans-serif", 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    for (s, (name, color)) in series.iter().enumerate() {
        let color = *color;
        let rects: Vec<(f64, f64, f64)> = bars
            .iter()
            .enumerate()
            .filter_map(|(k, bar)| {
                let (y0, y1) = band(k, s);
                Some((*bar.values.get(s)?, y0, y1))
            })
            .collect();
        chart
            .draw_series(
                rects
                    .iter()
                    .map(|&(v, y0, y1)| Rectangle::new([(lo, y0), (v, y1)], color.filled())),
            )?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        chart.draw_series(rects.iter().map(|&(v, y0, y1)| {
            Text::new(
                label(v),
                (v * 1.06, (y0 + y1) / 2.0),
                ("sans-serif", 11)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .border_style(BLACK.mix(0.4))
        .background_style(WHITE.mix(0.9))
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}

/// An axis label for a time in nanoseconds: `100 ns`, `10 µs`, `1 ms`.
fn axis_ns(v: f64) -> String {
    if v >= 1e6 {
        format!("{} ms", v / 1e6)
    } else if v >= 1e3 {
        format!("{} µs", v / 1e3)
    } else {
        format!("{v} ns")
    }
}
