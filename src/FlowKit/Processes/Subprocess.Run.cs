using System.Runtime.CompilerServices;

namespace FlowKit.Processes;

public sealed partial class Subprocess
{
    /// <summary>
    /// Runs a program to completion (Trio's <c>run_process</c>): sends <see cref="SubprocessRunOptions.Input"/>, captures piped
    /// output, waits for the exit and, unless told not to, throws <see cref="SubprocessException"/> with the exit code and the
    /// tail of standard error when it is not zero. Cancelling the token stops the child (SIGTERM, then SIGKILL) and throws
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <param name="fileName">The program: a path or a name looked up on PATH.</param>
    /// <param name="args">Its arguments.</param>
    /// <param name="options">How to run it; <see langword="null"/> captures standard output, drains standard error into its tail and checks the exit code.</param>
    /// <param name="cancellationToken">Stops the child and the run.</param>
    /// <returns>The exit code and the captured output.</returns>
    /// <exception cref="SubprocessException">The exit code was not zero and <see cref="SubprocessRunOptions.CheckExitCode"/> is on.</exception>
    /// <exception cref="FileNotFoundException">No such program.</exception>
    /// <example><code>
    /// var result = await Subprocess.RunAsync("git", ["rev-parse", "HEAD"]);
    /// Console.WriteLine(result.StandardOutput.Trim());
    /// </code></example>
    public static async Task<SubprocessResult> RunAsync(string fileName, IEnumerable<string>? args = null, SubprocessRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        options ??= new SubprocessRunOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxCaptureBytes, 1, "options.MaxCaptureBytes");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxCaptureBytes, 1 << 30, "options.MaxCaptureBytes");
        var input = options.Input;
        var check = options.CheckExitCode;
        var maxCapture = options.MaxCaptureBytes;
        var effective = options.Snapshot();
        if (input is not null)
        {
            effective.StandardInput = SubprocessInput.Pipe;
        }

        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var child = Start(fileName, args, effective, lifetime.Token);
        var feed = input is { } bytes ? GuardAsync(FeedBytesAsync(child, bytes, lifetime.Token), lifetime) : Task.CompletedTask;
        var stdout = effective.StandardOutput == SubprocessOutput.Pipe
            ? GuardAsync(child.ReadStandardOutputToEndAsync(maxCapture, lifetime.Token), lifetime)
            : Task.FromResult(string.Empty);
        var stderr = effective.StandardError == SubprocessOutput.Pipe
            ? GuardAsync(child.ReadStandardErrorToEndAsync(maxCapture, lifetime.Token), lifetime)
            : Task.FromResult(string.Empty);
        try
        {
            await Task.WhenAll(feed, stdout, stderr).ConfigureAwait(false);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            await child.StopAsync(CancellationToken.None).ConfigureAwait(false);
            throw new OperationCanceledException($"Running '{fileName}' was cancelled; the child was stopped.", cancellationToken);
        }

        int code;
        try
        {
            code = await child.WaitForExitAsync(lifetime.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await child.StopAsync(CancellationToken.None).ConfigureAwait(false);
            throw new OperationCanceledException($"Running '{fileName}' was cancelled; the child was stopped.", cancellationToken);
        }

        if (effective.StandardError != SubprocessOutput.Pipe)
        {
            // The exit can be seen before the last bytes of standard error have been drained into the tail: wait for its end of file.
            await child.StandardErrorDrained.WaitAsync(lifetime.Token).ConfigureAwait(false);
        }

        var errorText = effective.StandardError == SubprocessOutput.Pipe ? stderr.Result : child.StandardErrorTail;
        if (check && code != 0)
        {
            throw new SubprocessException(fileName, code, TailOf(errorText, effective.TailBytes));
        }

        return new SubprocessResult(code, stdout.Result, errorText);
    }

    /// <summary>
    /// Uses a child as a pipeline stage: writes each line of <paramref name="input"/> to its standard input (then closes it)
    /// while yielding the lines of its standard output, like <c>... | sort -r | ...</c> in a shell. Both sides run
    /// concurrently with bounded buffers. At the end the exit code is checked (unless a <see cref="SubprocessRunOptions"/> with
    /// <see cref="SubprocessRunOptions.CheckExitCode"/> off is passed). Stopping the enumeration early stops the child.
    /// </summary>
    /// <param name="input">The lines to send (without terminators).</param>
    /// <param name="fileName">The program.</param>
    /// <param name="args">Its arguments.</param>
    /// <param name="options">How to run it; standard input and output are always pipes here.</param>
    /// <param name="cancellationToken">Stops the child and the enumeration.</param>
    /// <returns>The child's output lines.</returns>
    /// <exception cref="SubprocessException">The child exited with a non-zero code.</exception>
    /// <example><code>
    /// await foreach (var line in Subprocess.PipeLinesAsync(names, "sort", ["-r"])) Console.WriteLine(line);
    /// </code></example>
    public static IAsyncEnumerable<string> PipeLinesAsync(
        IAsyncEnumerable<string> input,
        string fileName,
        IEnumerable<string>? args = null,
        SubprocessOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        return PipeLinesCoreAsync((child, lifetime) => FeedAsync(child, lifetime, ct => WriteLinesAsync(child, input, ct)), fileName, args, options, cancellationToken);
    }

    /// <summary>
    /// Uses a child as a pipeline stage fed from an in-memory sequence (an array, <c>File.ReadLines</c>): like the
    /// <see cref="IAsyncEnumerable{T}"/> overload, without an async enumerator per input line.
    /// </summary>
    /// <param name="input">The lines to send (without terminators).</param>
    /// <param name="fileName">The program.</param>
    /// <param name="args">Its arguments.</param>
    /// <param name="options">How to run it; standard input and output are always pipes here.</param>
    /// <param name="cancellationToken">Stops the child and the enumeration.</param>
    /// <returns>The child's output lines.</returns>
    /// <exception cref="SubprocessException">The child exited with a non-zero code.</exception>
    public static IAsyncEnumerable<string> PipeLinesAsync(
        IEnumerable<string> input,
        string fileName,
        IEnumerable<string>? args = null,
        SubprocessOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        return PipeLinesCoreAsync((child, lifetime) => FeedAsync(child, lifetime, ct => WriteLinesAsync(child, input, ct)), fileName, args, options, cancellationToken);
    }

    private static async IAsyncEnumerable<string> PipeLinesCoreAsync(
        Func<Subprocess, CancellationTokenSource, Task> feed,
        string fileName,
        IEnumerable<string>? args,
        SubprocessOptions? options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var check = options is not SubprocessRunOptions run || run.CheckExitCode;
        var effective = (options ?? new SubprocessOptions()).Snapshot();
        effective.StandardInput = SubprocessInput.Pipe;
        effective.StandardOutput = SubprocessOutput.Pipe;

        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var child = Start(fileName, args, effective, lifetime.Token);
        var feeder = feed(child, lifetime);
        var lines = child.StandardOutputLinesAsync(lifetime.Token).GetAsyncEnumerator(lifetime.Token);
        try
        {
            while (true)
            {
                // Most lines are already buffered: take them without another state machine per line.
                var next = lines.MoveNextAsync();
                var more = next.IsCompletedSuccessfully ? next.Result : await NextLineAsync(next, feeder, cancellationToken).ConfigureAwait(false);
                if (!more)
                {
                    break;
                }

                yield return lines.Current;
            }

            await feeder.ConfigureAwait(false);
            var code = await child.WaitForExitAsync(lifetime.Token).ConfigureAwait(false);
            if (check && code != 0)
            {
                await child.StandardErrorDrained.WaitAsync(lifetime.Token).ConfigureAwait(false);
                throw new SubprocessException(fileName, code, child.StandardErrorTail);
            }
        }
        finally
        {
            await lines.DisposeAsync().ConfigureAwait(false);
            if (!feeder.IsCompleted)
            {
                await lifetime.CancelAsync().ConfigureAwait(false);
            }

            await feeder.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    private static async ValueTask<bool> NextLineAsync(ValueTask<bool> next, Task feeder, CancellationToken callerToken)
    {
        try
        {
            return await next.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!callerToken.IsCancellationRequested)
        {
            // Our own cancellation: the feeder failed and stopped everything; its error is the one to report.
            await feeder.ConfigureAwait(false);
            throw;
        }
    }

    private static async Task WriteLinesAsync(Subprocess child, IAsyncEnumerable<string> input, CancellationToken cancellationToken)
    {
        await foreach (var line in input.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var written = child.StandardInput.WriteLineAsync(line, cancellationToken);
            if (!written.IsCompletedSuccessfully)
            {
                await written.ConfigureAwait(false);
            }
        }
    }

    private static async Task WriteLinesAsync(Subprocess child, IEnumerable<string> input, CancellationToken cancellationToken)
    {
        foreach (var line in input)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var written = child.StandardInput.WriteLineAsync(line, cancellationToken);
            if (!written.IsCompletedSuccessfully)
            {
                await written.ConfigureAwait(false);
            }
        }
    }

    private static async Task FeedAsync(Subprocess child, CancellationTokenSource lifetime, Func<CancellationToken, Task> writeAll)
    {
        try
        {
            await writeAll(lifetime.Token).ConfigureAwait(false);
            await child.StandardInput.CloseAsync(lifetime.Token).ConfigureAwait(false);
        }
        catch (SubprocessInputClosedException)
        {
            // The child stopped reading (like `head`); its exit code decides whether that was a failure.
            await child.StandardInput.AbandonAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            await lifetime.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task FeedBytesAsync(Subprocess child, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        try
        {
            await child.StandardInput.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            await child.StandardInput.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SubprocessInputClosedException)
        {
            // Trio's run_process does the same: a child that does not read all its input is judged by its exit code.
            await child.StandardInput.AbandonAsync().ConfigureAwait(false);
        }
    }

    private static async Task<T> GuardAsync<T>(Task<T> task, CancellationTokenSource lifetime)
    {
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch
        {
            await lifetime.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task GuardAsync(Task task, CancellationTokenSource lifetime)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch
        {
            await lifetime.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static string TailOf(string text, int maxChars) =>
        text.Length <= maxChars ? text : text[^maxChars..];
}
