// Runs `mainline holepunch connect` in-process (argv as for the CLI command, --json implied): the lab's tests and
// the holepunch bench drive the command through this while the CLI group wiring is pending.
import { holepunchConnect } from '../../src/cli/holepunch-connect.js'
import { Output } from '../../src/cli/output.js'

process.exitCode = await holepunchConnect(process.argv.slice(2), new Output(true))
