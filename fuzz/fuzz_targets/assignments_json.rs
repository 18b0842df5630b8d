#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crowdagg_fuzz::assignments_json(data));
