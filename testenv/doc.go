// Package testenv starts the local stand-ins for Azure that the integration
// tests run against: the project's Event Hubs AMQP emulator
// (eventhubs_emulator.py, on Debian's python3-qpid-proton) and Azurite's blob
// service (the npm package pinned in the repository's package.json).
//
// Install both once with scripts/setup-test-deps.
//
// # Lifecycle
//
// StartEmulator and StartAzurite start a fresh process on a free loopback
// port, wait until it accepts connections, and stop it when the test (or
// benchmark) and its subtests end. The processes also die with the test
// binary: the emulator exits when its standard input closes, and on Linux
// both get SIGKILL when their parent goes away.
//
// # Missing dependencies
//
// When python3-qpid-proton, node or node_modules/.bin/azurite-blob is
// missing the test is skipped, unless the environment variable CI is "true":
// then it fails, so that a CI machine without them cannot pass by skipping.
//
// # Overrides
//
// IOCWATCH_PYTHON names the interpreter for the emulator (default
// /usr/bin/python3: the Debian package is not visible to other pythons) and
// IOCWATCH_AZURITE the azurite-blob executable (default
// node_modules/.bin/azurite-blob at the repository root).
package testenv
