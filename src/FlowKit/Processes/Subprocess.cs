using System.Diagnostics;

namespace FlowKit.Processes;

/// <summary>
/// A running child process with its standard streams as async streams (asyncio's <c>create_subprocess_exec</c>, Trio's
/// <c>open_process</c>). The handle owns the child: disposing it, or cancelling the token given to <see cref="Start"/>, stops
/// the child and its process group (SIGTERM, then SIGKILL after <see cref="SubprocessOptions.GracePeriod"/>), reaps it, and
/// stops the output readers, so no zombie and no orphan is left behind.
/// </summary>
/// <remarks>
/// Both output pipes are drained by their own tasks from the start, so a child that writes a lot to one stream never
/// deadlocks a caller reading the other. Piped output is buffered up to <see cref="SubprocessOptions.OutputBufferLimit"/>;
/// past it reading pauses and the child blocks. Standard error is drained into a bounded tail by default.
/// </remarks>
public sealed partial class Subprocess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly OutputPump? _stdout;
    private readonly OutputPump? _stderr;
    private readonly ByteTail? _stderrTail;
    private readonly System.Text.Encoding _encoding;
    private readonly CancellationTokenSource _pumpCancellation = new();
    private readonly Task _exited;
    private readonly TimeSpan _gracePeriod;
    private readonly TimeProvider _time;
    private readonly bool _processGroup;
    private readonly CancellationTokenRegistration _lifetime;
    private int _exitCode;

    private Subprocess(Process process, string fileName, IReadOnlyList<string> arguments, SubprocessOptions options, bool processGroup, CancellationToken cancellationToken)
    {
        _process = process;
        FileName = fileName;
        Arguments = arguments;
        Id = process.Id;
        _encoding = options.Encoding;
        _gracePeriod = options.GracePeriod;
        _time = options.TimeProvider ?? TimeProvider.System;
        _processGroup = processGroup;
        _exited = WaitAndRecordExitAsync(process);

        StandardInput = new StandardInputWriter(
            options.StandardInput == SubprocessInput.Inherit ? null : process.StandardInput.BaseStream, this, _encoding, options.InputBufferSize);

        if (options.StandardOutput != SubprocessOutput.Inherit)
        {
            _stdout = new OutputPump(options.StandardOutput == SubprocessOutput.Pipe, null, options.OutputBufferLimit, options.ReadSize, options.MaxLineLength, _encoding, "standard output");
            _stdout.Start(process.StandardOutput.BaseStream, _pumpCancellation.Token);
        }

        if (options.StandardError != SubprocessOutput.Inherit)
        {
            _stderrTail = new ByteTail(options.TailBytes);
            _stderr = new OutputPump(options.StandardError == SubprocessOutput.Pipe, _stderrTail, options.OutputBufferLimit, options.ReadSize, options.MaxLineLength, _encoding, "standard error");
            _stderr.Start(process.StandardError.BaseStream, _pumpCancellation.Token);
        }

        _lifetime = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static s => ((Subprocess)s!).BeginStop(), this)
            : default;
    }

    /// <summary>The program as the caller named it.</summary>
    public string FileName { get; }

    /// <summary>The arguments passed to the program.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>The child's process id; with <see cref="SubprocessOptions.NewProcessGroup"/> also its process group id.</summary>
    public int Id { get; }

    /// <summary>Whether the child has exited.</summary>
    public bool HasExited => _exited.IsCompleted;

    /// <summary>The exit code once the child has exited (128 + N when signal N killed it), else <see langword="null"/>.</summary>
    public int? ExitCode => _exited.IsCompleted ? _exitCode : null;

    /// <summary>The child's standard input; closed already unless <see cref="SubprocessOptions.StandardInput"/> is <see cref="SubprocessInput.Pipe"/>.</summary>
    public StandardInputWriter StandardInput { get; }

    /// <summary>The last <see cref="SubprocessOptions.TailBytes"/> bytes of standard error read so far, decoded; empty when it is inherited.</summary>
    public string StandardErrorTail => _stderrTail?.Decode(_encoding) ?? string.Empty;

    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="args"/> (no shell unless <see cref="SubprocessOptions.UseShell"/>).
    /// </summary>
    /// <param name="fileName">The program: a path, or a name looked up on PATH like <c>execvp</c> does.</param>
    /// <param name="args">Its arguments, passed as they are.</param>
    /// <param name="options">How to run it; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">The child's lifetime: cancelling it stops the child as disposal does.</param>
    /// <returns>The handle; dispose it to stop and reap the child.</returns>
    /// <exception cref="FileNotFoundException">No such program; the message names it.</exception>
    /// <exception cref="UnauthorizedAccessException">The file exists but is not executable.</exception>
    /// <example><code>
    /// await using var sort = Subprocess.Start("sort", ["-r"]);
    /// await sort.StandardInput.WriteLineAsync("a");
    /// await sort.StandardInput.CloseAsync();
    /// await foreach (var line in sort.StandardOutputLinesAsync()) Console.WriteLine(line);
    /// int code = await sort.WaitForExitAsync();
    /// </code></example>
    public static Subprocess Start(string fileName, IEnumerable<string>? args = null, SubprocessOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        options ??= new SubprocessOptions();
        Validate(options);
        var arguments = args?.ToArray() ?? [];
        if (Array.IndexOf(arguments, null) >= 0)
        {
            throw new ArgumentException("args must not contain null elements.", nameof(args));
        }

        cancellationToken.ThrowIfCancellationRequested();

        var info = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardInput = options.StandardInput != SubprocessInput.Inherit,
            RedirectStandardOutput = options.StandardOutput != SubprocessOutput.Inherit,
            RedirectStandardError = options.StandardError != SubprocessOutput.Inherit,
            WorkingDirectory = options.WorkingDirectory ?? string.Empty,
        };
        foreach (var (name, value) in options.Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        if (options.WorkingDirectory is not null && !Directory.Exists(options.WorkingDirectory))
        {
            throw new DirectoryNotFoundException($"Cannot start '{fileName}': the working directory '{options.WorkingDirectory}' does not exist.");
        }

        var program = options.UseShell ? "/bin/sh" : fileName;
        var programArgs = options.UseShell ? ["-c", fileName, "sh", .. arguments] : arguments;
        if (!OperatingSystem.IsWindows())
        {
            info.Environment.TryGetValue("PATH", out var path);
            program = ExecutableResolver.Resolve(program, path, options.WorkingDirectory);
        }

        var chain = BuildLaunchChain(program, options, out var processGroup);
        info.FileName = chain[0];
        for (var i = 1; i < chain.Count; i++)
        {
            info.ArgumentList.Add(chain[i]);
        }

        foreach (var a in programArgs)
        {
            info.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch
        {
            process.Dispose();
            throw;
        }

        var handle = new Subprocess(process, fileName, arguments, options, processGroup, cancellationToken);
        if (options.StandardInput == SubprocessInput.Closed)
        {
            handle.StandardInput.CloseNow();
        }

        return handle;
    }

    /// <summary>
    /// The command line that starts <paramref name="program"/>. .NET's Process can neither setpgid nor reset signal
    /// dispositions, so a tiny wrapper that execs in place (the pid stays the program's own) does it: perl when present
    /// (setpgid only: a new process group in the same session), else setsid(1) (a new session, which on kernels with
    /// autogroup scheduling also means a separate CPU group and measurably slower pipe ping-pong under load) plus GNU env.
    /// </summary>
    private static List<string> BuildLaunchChain(string program, SubprocessOptions options, out bool processGroup)
    {
        var chain = new List<string>(8);
        processGroup = false;
        if (OperatingSystem.IsWindows() || (!options.NewProcessGroup && !options.RestoreSignals))
        {
            chain.Add(program);
            return chain;
        }

        if (ExecutableResolver.Perl is { } perl)
        {
            processGroup = options.NewProcessGroup;
            chain.AddRange([perl, "-e", PerlLauncher, "--", options.RestoreSignals ? "1" : "0", processGroup ? "1" : "0", program]);
            return chain;
        }

        if (options.NewProcessGroup && ExecutableResolver.Setsid is { } setsid)
        {
            // setsid(1) never forks here: our forked child is never a group leader, so it calls setsid() and execs in place.
            processGroup = true;
            chain.AddRange([setsid, "--"]);
        }

        if (options.RestoreSignals && !program.Contains('=') && ExecutableResolver.EnvWithDefaultSignal is { } env)
        {
            chain.AddRange([env, "--default-signal=PIPE", "--"]);
        }

        chain.Add(program);
        return chain;
    }

    private const string PerlLauncher =
        "$SIG{PIPE} = 'DEFAULT' if shift; setpgrp(0, 0) if shift; exec { $ARGV[0] } @ARGV or do { print STDERR \"cannot execute $ARGV[0]: $!\\n\"; exit 127 };";

    /// <summary>Waits for the child to exit and returns its exit code; cancelling the wait leaves the child running.</summary>
    /// <param name="cancellationToken">Cancels the wait only.</param>
    /// <returns>The exit code: 128 + N when signal N killed the child.</returns>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken = default)
    {
        await _exited.WaitAsync(cancellationToken).ConfigureAwait(false);
        return _exitCode;
    }

    private async Task WaitAndRecordExitAsync(Process process)
    {
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        // Kept here because the Process object is disposed with the handle, and its ExitCode with it.
        _exitCode = process.ExitCode;
    }

    /// <summary>A snapshot of the handle's counters.</summary>
    /// <returns>The statistics.</returns>
    public SubprocessStatistics GetStatistics() => new(
        Id,
        HasExited,
        ExitCode,
        StandardInput.BytesWritten,
        _stdout?.Bytes ?? 0,
        _stderr?.Bytes ?? 0,
        _stdout?.Pauses ?? 0,
        _stderr?.Pauses ?? 0,
        Volatile.Read(ref _stopTask) is not null);

    internal string DescribeExit() => HasExited ? $" and exited with code {_exitCode}" : string.Empty;

    private static void Validate(SubprocessOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.OutputBufferLimit, 1, "options.OutputBufferLimit");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.OutputBufferLimit, 1 << 30, "options.OutputBufferLimit");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ReadSize, 1, "options.ReadSize");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.ReadSize, 16 << 20, "options.ReadSize");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InputBufferSize, 1, "options.InputBufferSize");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.InputBufferSize, 16 << 20, "options.InputBufferSize");
        ArgumentOutOfRangeException.ThrowIfNegative(options.TailBytes, "options.TailBytes");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.TailBytes, 16 << 20, "options.TailBytes");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxLineLength, 1, "options.MaxLineLength");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxLineLength, 1 << 30, "options.MaxLineLength");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.GracePeriod, TimeSpan.Zero, "options.GracePeriod");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.GracePeriod, TimeSpan.FromDays(1), "options.GracePeriod");
        ArgumentNullException.ThrowIfNull(options.Encoding, "options.Encoding");
        if (!Enum.IsDefined(options.StandardInput) || !Enum.IsDefined(options.StandardOutput) || !Enum.IsDefined(options.StandardError))
        {
            throw new ArgumentOutOfRangeException(nameof(options), "options.StandardInput, StandardOutput and StandardError must be defined enum values.");
        }
    }
}
