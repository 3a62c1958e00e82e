# Shared helpers for the R reference scripts in this folder.
#
# Each script sources this file, sets up its designs, and records reference numbers with
#   ref("NAME", "R expression")
# The expression is parsed and evaluated exactly as written, so the command stored beside
# each number in the JSON output is the command that produced it.  `write_refs()` writes
# <script>.json next to the script (or to the folder given as the first command argument).
#
# Run one script:   Rscript tests/results/r/survey_replicates.R
# Check all of them: python -m pytest tests/test_r_provenance.py  (needs Rscript)

options(digits = 15, warn = 1)
.ref_env <- new.env()
.ref_env$refs <- list()
.ref_env$setup <- character(0)
.ref_env$extra_packages <- character(0)

# Record the version of a package the script used but did not load as a namespace (e.g. sourced R files).
extra_packages <- function(name, version) {
  .ref_env$extra_packages[[name]] <- as.character(version)
  invisible(NULL)
}

# Data folder: R survey's `api` data and `scd`, as shipped in ../shared/reference-data/api.
API_DIR <- Sys.getenv("SIPAS_API_DIR", "/work/shared/reference-data/api")
read_api <- function(name) {
  d <- read.csv(file.path(API_DIR, paste0(name, ".csv")), stringsAsFactors = TRUE)
  d
}

# Record setup code (evaluated in the global environment and kept beside every later ref).
setup <- function(code) {
  eval(parse(text = code), envir = .GlobalEnv)
  .ref_env$setup <- c(.ref_env$setup, code)
  invisible(NULL)
}

ref <- function(name, command) {
  value <- eval(parse(text = command), envir = .GlobalEnv)
  if (is.data.frame(value)) value <- as.matrix(value[vapply(value, is.numeric, logical(1))])
  nm <- names(value)
  if (is.matrix(value)) nm <- as.vector(outer(rownames(value), colnames(value), paste, sep = ":"))
  value <- as.numeric(value)
  if (is.null(nm)) nm <- character(0)
  if (!is.null(.ref_env$refs[[name]])) stop("duplicate reference name ", name)
  .ref_env$refs[[name]] <- list(command = command, setup = length(.ref_env$setup), value = value, names = nm)
  invisible(value)
}

.json_str <- function(x) encodeString(enc2utf8(x), quote = "\"", justify = "none")
.json_num <- function(x) ifelse(is.na(x), "null", ifelse(is.infinite(x), ifelse(x > 0, "\"Inf\"", "\"-Inf\""), sprintf("%.17g", x)))

write_refs <- function(script) {
  args <- commandArgs(trailingOnly = TRUE)
  out_dir <- if (length(args) >= 1) args[[1]] else dirname(script)
  pk <- c("survey", "psych", "lavaan", "GPArotation")
  pk <- pk[vapply(pk, function(p) p %in% loadedNamespaces(), logical(1))]
  versions <- vapply(pk, function(p) as.character(packageVersion(p)), "")
  extra <- .ref_env$extra_packages
  pk <- c(pk, names(extra))
  versions <- c(versions, unname(extra))
  lines <- c("{",
    paste0("  \"generator\": ", .json_str(paste0("tests/results/r/", basename(script))), ","),
    paste0("  \"R\": ", .json_str(paste(R.version$major, R.version$minor, sep = ".")), ","),
    paste0("  \"packages\": {", paste(sprintf("%s: %s", vapply(pk, .json_str, ""),
      vapply(versions, .json_str, "")), collapse = ", "), "},"),
    "  \"setup\": [",
    paste0("    ", vapply(.ref_env$setup, .json_str, ""), c(rep(",", length(.ref_env$setup) - 1), "")),
    "  ],",
    "  \"refs\": {")
  nms <- names(.ref_env$refs)
  for (i in seq_along(nms)) {
    r <- .ref_env$refs[[nms[i]]]
    entry <- paste0("    ", .json_str(nms[i]), ": {\"command\": ", .json_str(r$command),
      ", \"setup\": ", r$setup,
      ", \"names\": [", paste(vapply(r$names, .json_str, ""), collapse = ", "), "]",
      ", \"value\": [", paste(.json_num(r$value), collapse = ", "), "]}",
      if (i < length(nms)) "," else "")
    lines <- c(lines, entry)
  }
  lines <- c(lines, "  }", "}")
  out <- file.path(out_dir, sub("\\.R$", ".json", basename(script)))
  con <- file(out, open = "w", encoding = "UTF-8")
  writeLines(lines, con)
  close(con)
  message("wrote ", out, " (", length(nms), " references)")
}

this_script <- function() {
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grepl("^--file=", a)])
  if (length(f) == 0) stop("run with Rscript")
  normalizePath(f)
}
