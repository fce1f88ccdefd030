//! Parsing a pipeline of 16 SET commands, as a client such as redis-benchmark -P 16 sends it.

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use damselfly_protocol::Parser;

const PIPELINE: usize = 16;

fn set_pipeline() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..PIPELINE {
        let key = format!("key:{i:012}");
        let value = "x".repeat(32);
        out.extend_from_slice(b"*3\r\n$3\r\nSET\r\n");
        out.extend_from_slice(format!("${}\r\n{key}\r\n", key.len()).as_bytes());
        out.extend_from_slice(format!("${}\r\n{value}\r\n", value.len()).as_bytes());
    }
    out
}

fn inline_pipeline() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..PIPELINE {
        out.extend_from_slice(format!("SET key:{i:012} {}\r\n", "x".repeat(32)).as_bytes());
    }
    out
}

fn parse_all(parser: &mut Parser, input: &[u8]) -> usize {
    let mut buf = BytesMut::from(input);
    let mut args = 0;
    while let Some(command) = parser.next_command(&mut buf).expect("valid pipeline") {
        args += command.len();
        black_box(&command);
    }
    args
}

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    let multibulk = set_pipeline();
    group.throughput(Throughput::Bytes(multibulk.len() as u64));
    group.bench_function("multibulk_16_set", |b| {
        let mut parser = Parser::new();
        b.iter(|| assert_eq!(parse_all(&mut parser, black_box(&multibulk)), 3 * PIPELINE));
    });
    let inline = inline_pipeline();
    group.throughput(Throughput::Bytes(inline.len() as u64));
    group.bench_function("inline_16_set", |b| {
        let mut parser = Parser::new();
        b.iter(|| assert_eq!(parse_all(&mut parser, black_box(&inline)), 3 * PIPELINE));
    });
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
