use clap::Parser;

fn main() {
    let cli = chx::cli::Cli::parse();
    if let Err(e) = chx::cli::run(cli) {
        eprint!("{}", chx::cli::report(e));
        std::process::exit(1);
    }
}
