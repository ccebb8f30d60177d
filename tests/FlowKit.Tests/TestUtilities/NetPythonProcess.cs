using System.Diagnostics;

namespace FlowKit.Tests.TestUtilities;

/// <summary>Runs one of the course's Python programs with Debian's /usr/bin/python3 (which has Trio), recording its output lines.</summary>
public sealed class NetPythonProcess : IDisposable
{
    private readonly Process _process;

    private NetPythonProcess(Process process) => _process = process;

    public NetLineRecorder Output { get; } = new();

    public Process Process => _process;

    public static NetPythonProcess Start(string script, params string[] args)
    {
        var info = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-u");
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Net", "python", script));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info };
        var wrapper = new NetPythonProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                wrapper.Output.WriteLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                wrapper.Output.WriteLine("stderr: " + e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return wrapper;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
