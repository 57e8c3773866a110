//! Secrets (bot tokens, SMTP passwords, HMAC keys, webhook URLs with tokens)
//! come from an environment variable or a file named in the configuration,
//! are read when they are used (a rotated file applies to the next send), and
//! never appear in a log, an error or a reply: errors name the variable or
//! the file, never the value.

use bus::api::notify::Channel;

/// Where a secret is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretRef {
    pub env: Option<String>,
    pub file: Option<String>,
}

impl SecretRef {
    pub fn env(name: &str) -> Self {
        SecretRef {
            env: Some(name.to_string()),
            file: None,
        }
    }

    pub fn file(path: &str) -> Self {
        SecretRef {
            env: None,
            file: Some(path.to_string()),
        }
    }

    pub fn of(channel: &Channel) -> Self {
        SecretRef {
            env: channel.secret_env.clone(),
            file: channel.secret_file.clone(),
        }
    }

    pub fn is_set(&self) -> bool {
        self.env.is_some() || self.file.is_some()
    }

    /// `env:NAME` / `file:PATH`, for listings.
    pub fn describe(&self) -> Option<String> {
        match (&self.env, &self.file) {
            (Some(e), _) => Some(format!("env:{e}")),
            (None, Some(f)) => Some(format!("file:{f}")),
            (None, None) => None,
        }
    }

    /// The value (env first, then the file), trimmed. `Ok(None)`: none configured.
    pub fn read(&self) -> Result<Option<String>, String> {
        if let Some(name) = &self.env {
            return match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
                _ => Err(format!("secret variable {name} is not set")),
            };
        }
        if let Some(path) = &self.file {
            return match std::fs::read_to_string(path) {
                Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
                Ok(_) => Err(format!("secret file {path} is empty")),
                Err(e) => Err(format!("cannot read secret file {path}: {}", e.kind())),
            };
        }
        Ok(None)
    }

    /// The value, which must be configured.
    pub fn require(&self, what: &str) -> Result<String, String> {
        self.read()?
            .ok_or_else(|| format!("{what} needs secret_env or secret_file"))
    }
}
