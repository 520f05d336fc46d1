// `npm run demo` with nothing installed: the conformance suite's demo journey, run by scripts/test in a network
// namespace with TEST_BACKENDS=embedded (the demo then gets only a DATA_DIR of its own).
import '../conformance/demo.e2e.test.ts';
