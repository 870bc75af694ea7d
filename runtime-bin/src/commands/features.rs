pub fn run() -> Result<u8, crate::Failure> {
    println!(
        "{}",
        serde_json::to_string_pretty(&cella::features::features()).unwrap_or_default()
    );
    Ok(0)
}
