// The fuzzing program for HTTP request bodies (HTTPTarget.swift). A program of its own because it builds
// the server and its HTTP packages with the sanitizer, which takes many minutes: the file readers' program
// stays quick to build for CI's short pass.

import FuzzSupport

runFuzzer(["http": postRequest])
