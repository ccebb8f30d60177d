// Tests run in parallel by class; tests inside a class run one after another. Concurrency tests that need the whole machine
// (stress runs) are marked [DoNotParallelize].
[assembly: Parallelize(Workers = 2, Scope = ExecutionScope.ClassLevel)]
