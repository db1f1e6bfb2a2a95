; Inno Setup script for the Windows installer of Bundelassistent.
; Input: the one-folder build from `scripts/build` (build.spec) in dist\Bundelassistent.
; Build on Windows: iscc packaging\windows\bundelassistent.iss  — not built in CI.
; Silent per-machine install: BundelassistentSetup-<version>.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /ALLUSERS

#define AppName "Bundelassistent"
#define AppVersion "0.1.0"
#define AppExe "bundelassistent.exe"
#define BuildDir "..\..\dist\Bundelassistent"

[Setup]
AppId={{6C1E8A52-4F0B-4C57-9E0E-2B3C1B7D5A11}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher={#AppName}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=BundelassistentSetup-{#AppVersion}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\{#AppExe}
; the local database and logs live in the user's profile and are never removed here

[Languages]
Name: "dutch"; MessagesFile: "compiler:Languages\Dutch.isl"
Name: "english"; MessagesFile: "compiler:Default.isl"

[Files]
Source: "{#BuildDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\{#AppName} zelftest"; Filename: "{cmd}"; Parameters: "/k ""{app}\{#AppExe}"" self-test"

[Registry]
; bundelassistent://open?bsn=…&birth_date=… opens the patient in the running window
Root: HKA; Subkey: "Software\Classes\bundelassistent"; ValueType: string; ValueName: ""; ValueData: "URL:Bundelassistent"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\bundelassistent"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\bundelassistent\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
; No self-test at install time: it would run as the installing administrator, not as the
; user whose profile holds the database and keyring. Run it per user (see docs/IT.md).
