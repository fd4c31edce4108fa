fn main() {
    let p = std::env::args().nth(1).unwrap();
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let b = std::fs::read(&p).unwrap();
        let t1 = t.elapsed();
        let (m, h) = peripherals::Machine::restore(&b).unwrap();
        let t2 = t.elapsed();
        drop(m);
        let t3 = t.elapsed();
        eprintln!("read {:?} restore {:?} drop {:?} image {}", t1, t2 - t1, t3 - t2, h.image_len);
    }
    let b = std::fs::read(&p).unwrap();
    let (m, _) = peripherals::Machine::restore(&b).unwrap();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let s = m.snapshot(serde_json::Value::Null);
        eprintln!("snapshot {:?} {} bytes", t.elapsed(), s.len());
    }
    let t = std::time::Instant::now();
    let c = emulator::codecache::CodeCache::new();
    eprintln!("codecache new {:?}", t.elapsed());
    drop(c);
}
