//! Finds liblimify with pkg-config and links it (feature `link`, the default).
//! Also hands the include directories to the layout test, which compiles a C
//! program against the installed headers.

fn main() {
    #[cfg(feature = "link")]
    link();
}

#[cfg(feature = "link")]
fn link() {
    let library = match pkg_config::Config::new().atleast_version("0.1.0").probe("limify") {
        Ok(library) => library,
        Err(err) => {
            eprintln!(
                "limify-sys: liblimify was not found with pkg-config; set PKG_CONFIG_PATH to \
                 <prefix>/lib/pkgconfig of a limify install.\n{err}"
            );
            std::process::exit(1);
        }
    };
    let join =
        |paths: &[std::path::PathBuf]| paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":");
    println!("cargo:rustc-env=LIMIFY_SYS_INCLUDE_DIRS={}", join(&library.include_paths));
    println!("cargo:rustc-env=LIMIFY_SYS_LIB_DIRS={}", join(&library.link_paths));
    // Dependents' build scripts see DEP_LIMIFY_INCLUDE.
    println!("cargo:include={}", join(&library.include_paths));
}
