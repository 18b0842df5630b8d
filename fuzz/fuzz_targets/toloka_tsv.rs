#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crowdagg_fuzz::toloka_tsv(data));
