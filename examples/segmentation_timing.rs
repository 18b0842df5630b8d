//! Times crowdagg's segmentation methods on the masks `scripts/bench_segmentation.sh` makes
//! (`masks.csv`: task,worker rows; `masks.bin`: one byte per pixel of each 512×512 mask, in
//! row order), the same data crowd-kit is timed on.
//!
//! ```text
//! cargo run --release --example segmentation_timing -- masks.csv masks.bin
//! ```
//! Prints `method,wall seconds,CPU seconds,masks,tasks` per method (one fit each, loading
//! excluded).

use std::time::Instant;

use crowdagg::{
    Mask, SegmentationAggregator, SegmentationEm, SegmentationMajorityVote, SegmentationRasa,
    SegmentationResponses,
};

const SIDE: usize = 512;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [index, bytes] = args.as_slice() else {
        return Err("usage: segmentation_timing masks.csv masks.bin".into());
    };
    let start = Instant::now();
    let pixels = std::fs::read(bytes)?;
    let mut reader = csv::Reader::from_path(index)?;
    let mut builder = SegmentationResponses::builder();
    for (i, record) in reader.records().enumerate() {
        let record = record?;
        let chunk = pixels
            .get(i * SIDE * SIDE..(i + 1) * SIDE * SIDE)
            .ok_or("masks.bin is too short")?;
        let mask = Mask::from_pixels(SIDE, SIDE, chunk.len(), chunk.iter().map(|&b| b != 0))?;
        builder.push(&record[0], &record[1], mask)?;
    }
    let data = builder.build();
    println!(
        "load,{:.3},{},{}",
        start.elapsed().as_secs_f64(),
        data.len(),
        data.n_tasks()
    );
    let methods: [Box<dyn SegmentationAggregator>; 3] = [
        Box::new(SegmentationMajorityVote::default()),
        Box::new(SegmentationRasa::default()),
        Box::new(SegmentationEm::default()),
    ];
    let only = std::env::var("SEGMENTATION_ONLY").ok();
    for method in methods {
        if only.as_deref().is_some_and(|name| name != method.name()) {
            continue;
        }
        let (start, cpu) = (Instant::now(), crowdagg::timing::process_cpu_seconds());
        let fit = method.fit(&data)?;
        std::hint::black_box(&fit);
        if let Ok(dump) = std::env::var("SEGMENTATION_DUMP") {
            let bytes: Vec<u8> = fit
                .masks
                .iter()
                .flat_map(|m| m.to_bools().into_iter().map(u8::from))
                .collect();
            std::fs::write(format!("{dump}.{}", method.name()), bytes)?;
        }
        println!(
            "{},{:.3},{:.3},{},{}",
            method.name(),
            start.elapsed().as_secs_f64(),
            crowdagg::timing::process_cpu_seconds() - cpu,
            data.len(),
            data.n_tasks()
        );
    }
    Ok(())
}
